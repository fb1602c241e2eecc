"""Tier 4: a PostgreSQL or Redis restart under load costs users nothing once it is back.

Each server mode's project runs as production runs it (the image's web command, production
settings) against a PostgreSQL and a Redis of this test's own, on free 127.0.0.1 ports, so
restarting them disturbs nobody. A few client threads create articles (each with an
Idempotency-Key, retried on any error, as a careful client does) and read the list while
PostgreSQL restarts (`pg_ctl restart -m fast`). Then: no 5xx from a second after PostgreSQL
accepts connections again, nothing but 503 before, one row for every create answered 201,
the same row for a retry of a created key, and no traceback in the server's log. Then Redis
restarts under the same load: no 5xx at all.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .conftest import ProjectCache
from .matrix import Combination, combinations, resolve
from .projects import Project
from .servers import background, free_port, run_ok, stop_group
from .test_e2e_security import TENANT, obtain_token, seed, serve_production, server_env

pytestmark = pytest.mark.e2e

CLIENTS = 4
# Load before a restart, and after the service is back, in seconds.
STEADY_SECONDS = 1.0
AFTER_SECONDS = 2.5
# Requests started this long after PostgreSQL accepts connections again must all succeed.
GRACE_SECONDS = 1.0
REQUEST_TIMEOUT = 15
# A create is retried with its key until it gets an answer below 500, at most this often.
ATTEMPTS = 20
DATABASE = "restart"
# Probes among the reads: liveness must never fail, readiness only while PostgreSQL is away.
PROBES = {1: "/healthz", 5: "/readyz"}
# Created keys sent again after the restart, each expecting its first answer.
REPLAYS = 20


def one_combination_per_server() -> list[object]:
    """The default answers under asgi (with tenants), and wsgi without tenants."""
    wanted = [
        {"server": "asgi", "tenancy": "shared", "use_celery": True, "use_htmx": True},
        {"server": "wsgi", "tenancy": "none", "use_celery": False, "use_htmx": False},
    ]
    chosen = []
    for answers in wanted:
        for combination in combinations():
            resolved = resolve(combination.as_data())[0]
            if all(resolved[name] == value for name, value in answers.items()) and (
                resolved["django_version"] == "5.2" and resolved["cloud"] == "fly"
            ):
                chosen.append(combination)
                break
    return [
        pytest.param(combination, id=combination.id, marks=pytest.mark.xdist_group(combination.id))
        for combination in chosen
    ]


def as_postgres(command: str) -> None:
    run_ok("su", "postgres", "-c", command, cwd=Path("/"), timeout=60)


@dataclass
class Postgres:
    """A PostgreSQL of this test's own, its data in a temporary directory."""

    data: Path
    port: int = field(default_factory=free_port)

    @property
    def bin(self) -> str:
        return sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1]

    def ctl(self, *arguments: str) -> None:
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off"
        as_postgres(
            f"{self.bin}/pg_ctl -D {self.data}/db -l {self.data}/log -w -o '{options}' "
            + " ".join(arguments)
        )

    def sql(self, statement: str, database: str = "postgres") -> str:
        return run_ok(
            "psql",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            database,
            "-Atc",
            statement,
            cwd=Path("/"),
        )


@contextmanager
def own_postgres() -> Iterator[Postgres]:
    with tempfile.TemporaryDirectory(prefix="cdp-restart-") as directory:
        data = Path(directory)
        shutil.chown(data, "postgres", "postgres")
        server = Postgres(data)
        as_postgres(f"{server.bin}/initdb -D {data}/db -A trust -U postgres --no-sync -E UTF8")
        server.ctl("start")
        try:
            yield server
        finally:
            as_postgres(f"{server.bin}/pg_ctl -D {data}/db -m immediate -w stop")


@dataclass
class Redis:
    """A Redis of this test's own, nothing on disk; started again on the same port."""

    log: Path
    port: int = field(default_factory=free_port)

    @contextmanager
    def serve(self) -> Iterator[subprocess.Popen[bytes]]:
        port = str(self.port)
        command = ["redis-server", "--port", port, "--bind", "127.0.0.1", "--save", ""]
        command += ["--appendonly", "no"]
        with background(
            command, cwd=self.log.parent, env=dict(os.environ), log=self.log
        ) as process:
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.05)
            else:
                pytest.fail(f"redis did not start:\n{self.log.read_text()}", pytrace=False)
            yield process


@dataclass
class Outcome:
    kind: str
    started: float
    status: int  # 0: no HTTP answer
    key: str = ""
    article: int | None = None


class Load:
    """Client threads creating and reading articles until told to stop."""

    def __init__(self, url: str, headers: dict[str, str], prefix: str) -> None:
        self.url, self.headers, self.prefix = url, headers, prefix
        self.stop = threading.Event()
        self.outcomes: list[Outcome] = []
        self.created: dict[str, int] = {}  # key -> article id of its 201
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.client, args=(n,)) for n in range(CLIENTS)]

    def request(
        self, method: str, path: str, body: dict[str, str] | None = None, key: str = ""
    ) -> tuple[int, dict[str, object] | None, float]:
        headers = self.headers | {"Content-Type": "application/json"}
        if key:
            headers["Idempotency-Key"] = key
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
                return response.status, json.loads(response.read() or b"null"), started
        except urllib.error.HTTPError as error:
            return error.code, None, started
        except OSError:
            return 0, None, started

    def record(self, outcome: Outcome) -> None:
        with self.lock:
            self.outcomes.append(outcome)

    def client(self, number: int) -> None:
        sent = 0
        while not self.stop.is_set():
            sent += 1
            if sent % 2:  # every other request reads: the list, or a probe now and then
                path = PROBES.get(sent % 8, "/api/v1/articles/")
                status, _, started = self.request("GET", path)
                self.record(Outcome(path, started, status))
                continue
            key = f"{self.prefix}-{number}-{sent}"
            for _ in range(ATTEMPTS):
                status, body, started = self.request(
                    "POST", "/api/v1/articles/", {"title": key}, key
                )
                article = int(str(body["id"])) if status == 201 and body else None
                self.record(Outcome("create", started, status, key, article))
                if 0 < status < 500:
                    if article is not None:
                        with self.lock:
                            self.created.setdefault(key, article)
                    break
                time.sleep(0.2)

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(REQUEST_TIMEOUT * 2)


def summary(outcomes: list[Outcome], back: float) -> dict[str, object]:
    """What clients saw before PostgreSQL was back (plus the grace second), and after."""
    during = [o.status for o in outcomes if o.started < back + GRACE_SECONDS]
    after = [o.status for o in outcomes if o.started >= back + GRACE_SECONDS]
    failed = Counter(status for status in during if status >= 500 or not status)
    return {
        "requests": len(outcomes),
        "503 during": failed.pop(503, 0),
        "other failures during": dict(failed),
        "5xx after": sum(status >= 500 or not status for status in after),
    }


def under_load(
    url: str, headers: dict[str, str], prefix: str, restart: Callable[[], None]
) -> tuple[Load, float]:
    """Load the API, `restart` a service meanwhile; the load and when the service was back."""
    with Load(url, headers, prefix) as load:
        time.sleep(STEADY_SECONDS)
        restart()
        back = time.monotonic()
        time.sleep(AFTER_SECONDS)
    return load, back


@pytest.mark.parametrize("combination", one_combination_per_server())
def test_a_restart_costs_nothing_once_the_service_is_back(
    projects: ProjectCache,
    combination: Combination,
    tmp_path: Path,
    record_property: Callable[[str, object], None],
) -> None:
    if shutil.which("redis-server") is None or not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        pytest.fail("needs PostgreSQL's server binaries and redis-server", pytrace=False)
    answers = resolve(combination.as_data())[0]
    tenancy, mode = str(answers["tenancy"]), str(answers["server"])
    prefix = f"restart-{uuid.uuid4().hex[:8]}"
    redis = Redis(tmp_path / "redis.log")
    log = tmp_path / "gunicorn.log"
    with own_postgres() as postgres, contextlib.ExitStack() as services:
        postgres.sql(f'CREATE DATABASE "{DATABASE}"')
        project = Project(projects.get(combination), DATABASE)
        project.env |= {
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{postgres.port}/{DATABASE}",
            "REDIS_URL": f"redis://127.0.0.1:{redis.port}/0",
        }
        project.run("uv", "sync", "--locked", "--quiet")
        env = server_env(project, DATABASE, tenancy)
        first_redis = services.enter_context(redis.serve())
        seed(project, env, tenancy)

        def restart_redis() -> None:
            stop_group(first_redis)
            services.enter_context(redis.serve())

        with serve_production(project, env, log) as url:
            headers = {"X-Forwarded-Proto": "https"}
            if tenancy != "none":
                headers["X-Tenant"] = TENANT
            headers["Authorization"] = f"Bearer {obtain_token(url, headers)}"
            load, back = under_load(url, headers, prefix, lambda: postgres.ctl("-m fast restart"))
            # Redis's outage warning carries its traceback (core/cache.py): read the log now.
            database_log = log.read_text()
            replays = {
                key: load.request("POST", "/api/v1/articles/", {"title": key}, key)
                for key in list(load.created)[:REPLAYS]
            }
            redis_load, _ = under_load(url, headers, f"redis-{prefix}", restart_redis)
        rows = {
            title: int(count)
            for title, count in (
                line.split("|")
                for line in postgres.sql(
                    "SELECT title, count(*) FROM articles_article "
                    f"WHERE title LIKE '{prefix}-%' GROUP BY title",
                    DATABASE,
                ).split()
            )
        }
    database = summary(load.outcomes, back)
    redis_failures = [o.status for o in redis_load.outcomes if o.status >= 500 or not o.status]
    record_property(
        "restart",
        f"{mode}: PostgreSQL restart: {database['requests']} requests, "
        f"{database['503 during']} 503s during the outage, other failures then "
        f"{database['other failures during']}, {database['5xx after']} 5xx after; "
        f"{sum(rows.values())} rows for {len(load.created)} keys answered 201 "
        f"({len(replays)} of them sent again); Redis restart: {len(redis_load.outcomes)} "
        f"requests, {len(redis_failures)} 5xx",
    )
    assert {o.status for o in load.outcomes if o.kind == "/healthz"} == {200}
    assert database["5xx after"] == 0, database
    assert database["other failures during"] == {}, database
    assert rows == dict.fromkeys(load.created, 1), "one row for every key answered 201"
    for key, (status, body, _) in replays.items():
        assert (status, body and body["id"]) == (201, load.created[key]), f"{key} sent again"
    assert "Traceback" not in database_log
    assert redis_failures == [], redis_failures
