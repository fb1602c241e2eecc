"""Tier 4: each server mode as production runs it, under load; the live feed to real clients.

For an asgi combination with Channels and a wsgi one, both with pages: the image's web
command (gunicorn with uvicorn workers, or with threads), production settings, PostgreSQL
and Redis, a free port on 127.0.0.1. With Channels, 50 websocket clients signed in as a
member follow the live feed, stay quiet longer than the Redis client's read timeout, and
then an article published through the API must reach each of them exactly once. A collected
static file must come with its immutable caching, compressed, and with the security headers
pages carry (the project answers static files before Django: core/static_files.py). Then wrk
holds 256 connections for 10 s on the article list page and on the article list API: every
answer a 2xx and no connection refused, reset or failed. (A request still queued when the
load stops counts neither way: how fast is the benches' question, bench/http_endpoints.py.)
The server must log no exception while the feed runs.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import websockets

from .conftest import ProjectCache
from .load import Load, wrk
from .matrix import Combination, combinations, resolve
from .projects import Project
from .test_e2e_security import (
    EMAIL,
    TENANT,
    obtain_token,
    require_wrk,
    seeded_project,
    serve_production,
)

pytestmark = pytest.mark.e2e

CLIENTS = 50
FEED_PATH = "/ws/articles/"
# The followers stay quiet this long before the publication: longer than redis-py's default
# read timeout (5 s) and the channel layer's blocking wait for a message (as long), so a
# socket that dies in its first quiet moment misses the article.
IDLE_SECONDS = 8
# How long a client listens for a second copy of the article after the first.
DUPLICATE_WINDOW = 1.0
DELIVERY_DEADLINE = 15.0
LOAD_CONNECTIONS = 256
LOAD_SECONDS = 10
# Above any wait in the queue here, so only a failed connection is a socket error.
LOAD_TIMEOUT = 30
CHOSEN = [
    {"server": "asgi", "channels": True, "tenancy": "shared", "django_version": "6.1"},
    {"server": "wsgi", "tenancy": "none", "django_version": "5.2"},
]


def server_params() -> list[object]:
    """The first combination with pages that matches each of CHOSEN."""
    answered = [(resolve(c.as_data())[0], c) for c in combinations()]
    chosen = [
        next(
            combination
            for answers, combination in answered
            if answers["use_htmx"] and wanted.items() <= answers.items()
        )
        for wanted in CHOSEN
    ]
    return [
        pytest.param(combination, id=combination.id, marks=pytest.mark.xdist_group(combination.id))
        for combination in chosen
    ]


def session_cookie(project: Project, env: dict[str, str]) -> str:
    """A signed-in session of the seeded member, as the Cookie header a browser would send."""
    code = (
        "from django.conf import settings\n"
        "from django.contrib.auth import get_user_model\n"
        "from django.test import Client\n"
        "client = Client()\n"
        f"client.force_login(get_user_model().objects.get(email={EMAIL!r}))\n"
        "name = settings.SESSION_COOKIE_NAME\n"
        "print(f'COOKIE {name}={client.cookies[name].value}')\n"
    )
    output = project.manage("shell", "--command", code, **env)
    return next(line for line in output.splitlines() if line.startswith("COOKIE ")).split()[1]


def api(url: str, path: str, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{url}{path}",
        data=json.dumps(body).encode(),
        headers=headers | {"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return dict(json.loads(response.read()))


def static_file(url: str, project: Project, headers: dict[str, str]) -> dict[str, str]:
    """The headers (names in lower case) a collected file, by its hashed name, is served with."""
    manifest = json.loads((project.path / "staticfiles" / "staticfiles.json").read_text())
    name = manifest["paths"]["core/swagger-ui.css"]
    request = urllib.request.Request(
        f"{url}/static/{name}", headers=headers | {"Accept-Encoding": "gzip"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
        response.read()
        return {name.lower(): value for name, value in response.headers.items()}


async def listen(socket: Any, article: asyncio.Future[int], started: float) -> list[float]:
    """Seconds from the publish request to each copy of `article` this client receives."""
    arrivals: list[float] = []
    deadline = time.monotonic() + DELIVERY_DEADLINE
    while time.monotonic() < deadline:
        try:
            frame = await asyncio.wait_for(socket.recv(), deadline - time.monotonic())
        except (TimeoutError, websockets.ConnectionClosed):
            break
        message = json.loads(frame)
        published = message.get("type") == "article.published"
        if published and message["article"]["id"] == await article:
            arrivals.append(time.monotonic() - started)
            deadline = min(deadline, time.monotonic() + DUPLICATE_WINDOW)
    return arrivals


async def follow_feed(
    port: int, host: str, cookie: str, publish: Callable[[], int]
) -> list[list[float]]:
    """Connect CLIENTS to the live feed, let them idle, publish, and return what each
    received, when."""
    sockets = [
        await websockets.connect(
            f"ws://{host}:{port}{FEED_PATH}",
            host="127.0.0.1",
            port=port,
            origin=websockets.Origin(f"https://{host}"),
            additional_headers={"Cookie": cookie},
            open_timeout=10,
        )
        for _ in range(CLIENTS)
    ]
    try:
        await asyncio.sleep(IDLE_SECONDS)
        article: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        started = time.monotonic()
        listening = [asyncio.create_task(listen(s, article, started)) for s in sockets]
        article.set_result(await asyncio.to_thread(publish))
        return list(await asyncio.gather(*listening))
    finally:
        await asyncio.gather(*(socket.close() for socket in sockets))


def assert_no_traceback(log: Path) -> None:
    """Fail on any exception the server has logged so far, showing the first."""
    text = log.read_text()
    for failure in ("Traceback", "Exception inside application"):
        assert failure not in text, text[text.index(failure) :][:3000]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def describe(name: str, load: Load) -> str:
    return (
        f"{name}: {load.requests} requests, {load.rate:.0f}/s, p50 {load.p50_ms} ms, "
        f"p99 {load.p99_ms} ms, {load.non_2xx} non-2xx, {load.socket_errors} socket errors"
    )


@pytest.mark.parametrize("combination", server_params())
def test_server_mode_under_load_and_live_feed(
    projects: ProjectCache,
    combination: Combination,
    tmp_path: Path,
    record_property: Callable[[str, object], None],
) -> None:
    require_wrk()
    answers = resolve(combination.as_data())[0]
    tenancy, mode = str(answers["tenancy"]), str(answers["server"])
    host = f"{TENANT}.localhost" if tenancy != "none" else "localhost"
    log = tmp_path / "server.log"
    with seeded_project(projects, combination, tenancy) as (project, env):
        project.manage("collectstatic", "--no-input", **env)  # as the image's build does
        cookie = session_cookie(project, env)
        with serve_production(project, env, log) as url:
            port = int(url.rpartition(":")[2])
            headers = {"Host": host, "X-Forwarded-Proto": "https"}
            bearer = headers | {"Authorization": f"Bearer {obtain_token(url, headers)}"}

            def publish() -> int:
                body = {"title": "Live", "body": "Pushed to every follower."}
                article = api(url, "/api/v1/articles/", bearer, body)
                api(url, f"/api/v1/articles/{article['id']}/publish/", bearer, {})
                return int(article["id"])

            served = static_file(url, project, headers)
            assert "immutable" in served["cache-control"], served
            assert served["content-encoding"] == "gzip", served
            assert served["x-content-type-options"] == "nosniff", served
            assert served["strict-transport-security"].startswith("max-age="), served

            if answers["channels"]:
                received = asyncio.run(follow_feed(port, host, cookie, publish))
                copies = [len(arrivals) for arrivals in received]
                latencies = [seconds for arrivals in received for seconds in arrivals]
                record_property(
                    "live feed",
                    f"{tenancy}: {len(received)} clients, {sum(copies)} messages delivered, "
                    f"p95 {percentile(latencies, 0.95) * 1000:.0f} ms from the publish request",
                )
                assert_no_traceback(log)
                assert copies == [1] * CLIENTS, f"copies received per client: {copies}"

            loads = {
                "page": wrk(
                    f"{url}/articles/",
                    headers | {"Cookie": cookie},
                    LOAD_SECONDS,
                    connections=LOAD_CONNECTIONS,
                    timeout_seconds=LOAD_TIMEOUT,
                ),
                "api list": wrk(
                    f"{url}/api/v1/articles/",
                    bearer,
                    LOAD_SECONDS,
                    connections=LOAD_CONNECTIONS,
                    timeout_seconds=LOAD_TIMEOUT,
                ),
            }
    for name, load in loads.items():
        record_property(f"{mode} {name}", describe(name, load))
        assert load.requests > 0, describe(name, load)
        assert load.non_2xx == 0, describe(name, load)
        assert load.socket_errors == 0, describe(name, load)
