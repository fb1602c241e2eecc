"""HTTP throughput of generated projects against bare Django (the limit), from one run.

For each combination (the product of the --data values; default tenancy none and shared,
Django 6.1, htmx on, server wsgi and asgi), each template ref (--ref, default HEAD) and each
server environment (--variant): copy the template (timing the template work and the
post-copy `uv lock` apart), install, migrate and seed 50 articles with tags and comments
(and, with tenancy, a demo tenant). Then serve it with its production web command, 2
workers, production settings, DEBUG off, on 127.0.0.1 against PostgreSQL and Redis, and load
each endpoint with wrk: -c 32 for the rate and latency, then -c 256 for the errors (wrk's
--timeout is common.WRK_TIMEOUT_SECONDS: a request queued that long is a latency, not an
error). The same command serves bench/bare/ (a hello view, and the project's article list
template rendered with no middleware) as the limit, each bare endpoint measured just before
its counterpart. Last, each endpoint's SQL queries, counted through Django's test client
under the same settings.

The I/O fan-out endpoint is the readiness probe: bench/slow_upstream.py answers after 50 ms,
three of its URLs are the project's READINESS_UPSTREAMS, so each /readyz waits on the
database and three 50 ms calls (gathered under asgi, one after another under wsgi). The
upstream is loaded alone first, to show it is not the limit, and /healthz is loaded beside
the fan-out at 256 connections, to show the other endpoints do not starve.

The server mode (wsgi or asgi) is whatever includes/deploy.jinja's web command serves for
the answers; each asgi run gets its rates over those of the wsgi run with the same other
answers.

Numbers, not pass/fail: this machine is shared, so compare ratios from one run.

    nice -n 10 uv run python bench/http_endpoints.py [--data tenancy=none,shared ...] [--seconds 5]
        [--ref before=<commit> --ref after=HEAD] [--variant threads1:GUNICORN_THREADS=1]
        [--out bench/results]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import shutil
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common import (
    EMAIL,
    Load,
    Seeded,
    access_token,
    bound_to_loopback,
    combinations,
    copy_in_two_steps,
    parse_data,
    production_env,
    seeded,
    server_mode,
    web_command,
    wrk,
)

from tests.servers import free_port, serve

BENCH = Path(__file__).resolve().parent
DEFAULT_DATA = {
    "tenancy": "none,shared",
    "django_version": "6.1",
    "use_htmx": "true",
    "server": "wsgi,asgi",
}
CONNECTIONS = 32
MANY_CONNECTIONS = 256
CREATE = BENCH / "create_article.lua"
UPSTREAM = BENCH / "slow_upstream.py"

# A session of the reader, for the pages (run inside the tenant, if any).
SESSION = """
from django.conf import settings
from django.test import Client
from {slug}.accounts.models import User

def main():
    client = Client()
    client.force_login(User.objects.get(email={email!r}))
    name = settings.SESSION_COOKIE_NAME
    print(f"SESSION {{name}}={{client.cookies[name].value}}")
"""
# Each endpoint's SQL queries on every database: a first request (the list caches emptied)
# and the same request again.
COUNT_QUERIES = """
import json
from contextlib import ExitStack
from django.conf import settings
from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from {slug}.articles.cache import forget_lists

def queries(client, method, path, headers, body):
    with ExitStack() as stack:
        captured = [stack.enter_context(CaptureQueriesContext(c)) for c in connections.all()]
        response = client.generic(
            method, path, body, content_type="application/json", headers=headers
        )
    return response.status_code, sum(len(c) for c in captured)

def main():
    forget_lists()
    for name, method, path, headers, cookies, body in {requests!r}:
        client = Client(HTTP_HOST={host!r})
        client.cookies.load(cookies)
        status, first = queries(client, method, path, headers, body)
        _, repeat = queries(client, method, path, headers, body)
        found = {{"status": status, "first": first, "repeat": repeat}}
        print("QUERIES " + json.dumps([name, found]))
"""


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str
    auth: str = ""  # "session" (a page) or "token" (the API)
    method: str = "GET"


# The limit each of our endpoints is measured against, by name.
BARE_COUNTERPART = {
    "healthz": Endpoint("bare hello", "/hello"),
    "html list": Endpoint("bare page", "/page?page_size=50"),
}
BODY = json.dumps({"title": "Written under load", "body": "Text " * 50})
FANOUT = Endpoint("readyz fan-out", "/readyz")
# Loaded alone at MANY_CONNECTIONS with a connection per request, as /readyz calls it.
UPSTREAM_ALONE = Endpoint("upstream alone", "/")
# /healthz, loaded at CONNECTIONS while FANOUT runs at MANY_CONNECTIONS.
BESIDE = Endpoint("healthz beside fan-out", "/healthz")


def endpoints(answers: dict[str, Any], article: int, static: str) -> list[Endpoint]:
    pages = [Endpoint("html list", "/articles/?page_size=50", "session")]
    return [
        Endpoint("healthz", "/healthz"),
        Endpoint("static file", f"/static/{static}"),
        *(pages if answers.get("use_htmx") else []),
        Endpoint("api list", "/api/v1/articles/?page_size=50", "token"),
        Endpoint("api detail", f"/api/v1/articles/{article}/", "token"),
        Endpoint("api create", "/api/v1/articles/", "token", "POST"),
        FANOUT,
    ]


def drained(base: str) -> None:
    """Wait until the server has answered what wrk left queued when it stopped."""
    with urllib.request.urlopen(base + "/healthz", timeout=60) as response:
        response.read()


def printed(name: str, measured: dict[str, Any]) -> dict[str, Any]:
    """`measured` (one endpoint's wrk runs by connections), printed on one line."""
    first, many = measured.get(f"c{CONNECTIONS}"), measured.get(f"c{MANY_CONNECTIONS}")
    line = f"  {name:<22}"
    if first:
        line += f" {first['rate']:9.1f} req/s  p50 {first['p50_ms']} ms  p99 {first['p99_ms']} ms"
    if many:
        line += (
            f"  at {MANY_CONNECTIONS}: {many['rate']:.1f} req/s, {many['non_2xx']} non-2xx, "
            f"{many['socket_errors']} socket errors, {many['timeouts']} timeouts"
        )
    print(line)
    return measured


def load(base: str, endpoint: Endpoint, headers: dict[str, str], seconds: int) -> dict[str, Any]:
    """wrk at CONNECTIONS (rate, latency), then at MANY_CONNECTIONS (errors).

    Each run starts on an idle server: none waits behind the requests of the one before.
    """
    url = base + endpoint.path
    script = CREATE if endpoint.method == "POST" else None
    measured = {}
    for connections, length in (
        (CONNECTIONS, 1),
        (CONNECTIONS, seconds),
        (MANY_CONNECTIONS, seconds),
    ):
        drained(base)  # the first run warms up connections, caches and workers
        found = wrk(url, headers, length, connections=connections, script=script)
        measured[f"c{connections}"] = found.as_dict()
    return printed(endpoint.name, measured)


def load_beside(base: str, headers: dict[str, str], seconds: int) -> dict[str, Any]:
    """/healthz at CONNECTIONS while the fan-out runs at MANY_CONNECTIONS: does it starve?"""
    drained(base)
    with ThreadPoolExecutor(2) as pool:
        fanout = pool.submit(
            wrk, base + FANOUT.path, headers, seconds, connections=MANY_CONNECTIONS
        )
        beside: Load = wrk(base + BESIDE.path, headers, seconds, connections=CONNECTIONS)
        fanout.result()
    return printed(BESIDE.name, {f"c{CONNECTIONS}": beside.as_dict()})


def load_upstream(base: str, seconds: int) -> dict[str, Any]:
    """The slow upstream alone at MANY_CONNECTIONS, a connection per request like /readyz."""
    found = wrk(base, {"Connection": "close"}, seconds, connections=MANY_CONNECTIONS)
    return printed(UPSTREAM_ALONE.name, {f"c{MANY_CONNECTIONS}": found.as_dict()})


def bare_command(command: list[str]) -> list[str]:
    """The same web command serving bench/bare/ instead of the project's config package."""
    return [re.sub(r"^config\.(wsgi|asgi)", r"bare_\1", part) for part in command]


def template_dirs(path: Path) -> str:
    return os.pathsep.join(str(folder) for folder in sorted(path.glob("**/templates")))


@dataclass(frozen=True)
class Served:
    base: str  # the project's URL
    bare_base: str  # bench/bare/'s, served by the same web command
    cookie: str  # the reader's session cookie, for the pages
    static: str  # the hashed name of a collected static file


@contextmanager
def side_by_side(
    bench: Seeded,
    web: list[str],
    production: dict[str, str],
    scratch: Path,
    server_env: dict[str, str] | None = None,
) -> Iterator[Served]:
    """The project (on production["PORT"]) and bench/bare/, both served by `web` until the
    block ends; static files collected and the reader signed in first."""
    path = bench.project.path
    # As the image build does: the manifest storage names each file by its hash.
    bench.project.manage("collectstatic", "--no-input", "--verbosity", "0", **production)
    session = bench.shell(SESSION.format(slug=bench.slug, email=EMAIL), **production)
    cookie = re.findall(r"^SESSION (\S+)$", session, re.MULTILINE)[-1]
    manifest = json.loads((path / "staticfiles" / "staticfiles.json").read_text())
    port, bare_port = int(production["PORT"]), free_port()
    bare_env = (
        bench.project.env
        | {
            "DJANGO_SETTINGS_MODULE": "bare",
            "PYTHONPATH": str(BENCH / "bare"),
            "BARE_TEMPLATE_DIRS": template_dirs(path),
            "PORT": str(bare_port),
            "WEB_CONCURRENCY": production["WEB_CONCURRENCY"],
        }
        | (server_env or {})
    )
    project_log, bare_log = scratch / "server.log", scratch / "bare.log"
    with (
        serve(
            bound_to_loopback(web, port),
            port=port,
            cwd=path,
            env=bench.project.env | production,
            log=project_log,
        ) as base,
        serve(
            bound_to_loopback(bare_command(web), bare_port),
            port=bare_port,
            cwd=path,
            env=bare_env,
            log=bare_log,
        ) as bare_base,
    ):
        yield Served(base, bare_base, cookie, manifest["paths"]["core/swagger-ui.css"])


def bench_combination(
    data: dict[str, str], ref: str, variant: str, scratch: Path, seconds: int
) -> dict[str, Any]:
    """Every endpoint of one combination at `ref`, with the server env of `variant`."""
    path = scratch / "project"
    copy = copy_in_two_steps(path, data, ref.rpartition("=")[2])
    variant_name, _, variables = variant.partition(":")
    server_env = parse_data(variables.split(",")) if variables else {}
    ref_label, _, commit = ref.rpartition("=")
    results: dict[str, Any] = {
        "data": data,
        "ref": ref_label or commit,
        "commit": commit,
        "variant": variant_name,
        "server_env": server_env,
        "copy": copy,
        "endpoints": {},
    }
    with (
        seeded(path, f"bench-http-{ref}-{sorted(data.items())}") as bench,
        ExitStack() as servers,
    ):
        upstream_port = free_port()
        upstream = servers.enter_context(
            serve(
                [sys.executable, str(UPSTREAM), str(upstream_port)],
                port=upstream_port,
                cwd=BENCH,
                env=dict(os.environ),
                log=scratch / "upstream.log",
            )
        )
        results["endpoints"][UPSTREAM_ALONE.name] = load_upstream(upstream, seconds)
        port = free_port()
        fanout = ",".join(f"{upstream}/{name}" for name in ("users", "billing", "search"))
        production = production_env(bench.project, port, READINESS_UPSTREAMS=fanout, **server_env)
        web = web_command(bench.answers)
        results["server"] = server_mode(web)
        with side_by_side(bench, web, production, scratch, server_env) as served:
            base, bare_base, cookie = served.base, served.bare_base, served.cookie
            ours = endpoints(bench.answers, bench.article, served.static)
            token = access_token(base, bench.host)
            plain = {"Accept-Encoding": "gzip, br"}
            auth = {
                "": plain,
                "session": {"Cookie": cookie},
                "token": {"Authorization": f"Bearer {token}"},
            }
            # Each bare endpoint runs just before its counterpart, under the same conditions
            # on this shared machine; both servers run throughout, the idle one waits.
            for endpoint in ours:
                limit = BARE_COUNTERPART.get(endpoint.name)
                if limit is not None:
                    results["endpoints"][limit.name] = load(bare_base, limit, plain, seconds)
                headers = {"Host": bench.host, "X-Forwarded-Proto": "https"} | auth[endpoint.auth]
                results["endpoints"][endpoint.name] = load(base, endpoint, headers, seconds)
            results["endpoints"][BESIDE.name] = load_beside(base, plain, seconds)

        requests = [
            (
                endpoint.name,
                endpoint.method,
                endpoint.path,
                {"Authorization": f"Bearer {token}"} if endpoint.auth == "token" else {},
                cookie if endpoint.auth == "session" else "",
                BODY if endpoint.method == "POST" else "",
            )
            for endpoint in ours
            if not endpoint.path.startswith("/static/")
        ]
        counting = COUNT_QUERIES.format(slug=bench.slug, host=bench.host, requests=requests)
        for line in bench.shell(counting, **production).splitlines():
            if line.startswith("QUERIES "):
                name, found = json.loads(line.removeprefix("QUERIES "))
                results["endpoints"][name]["queries"] = found
    results["ratios"] = ratios(results["endpoints"])
    return results


def rates(measured: dict[str, Any], connections: int) -> dict[str, float]:
    """The rate of each endpoint measured at `connections`."""
    key = f"c{connections}"
    return {name: found[key]["rate"] for name, found in measured.items() if key in found}


def ratios(measured: dict[str, Any]) -> dict[str, dict[str, float | None]]:
    """Each endpoint's rate over the bare hello's, and the page's over the bare page's."""
    rate = rates(measured, CONNECTIONS)
    found: dict[str, dict[str, float | None]] = {
        name: {"/bare hello": ratio(value, rate["bare hello"])} for name, value in rate.items()
    }
    if "bare page" in rate and "html list" in rate:
        found["html list"]["/bare page"] = ratio(rate["html list"], rate["bare page"])
    return found


def ratio(ours: float, theirs: float) -> float | None:
    """`ours` over `theirs`, or None when the other served nothing (starved)."""
    return round(ours / theirs, 3) if theirs else None


def add_server_ratios(results: list[dict[str, Any]]) -> None:
    """Each asgi run's rates over those of the wsgi run with the same other answers.

    At CONNECTIONS ("/wsgi") and at MANY_CONNECTIONS ("/wsgi at 256": the fan-out target).
    """

    def twin(result: dict[str, Any]) -> tuple[Any, ...]:
        others = sorted((k, v) for k, v in result["data"].items() if k != "server")
        return (*others, result["ref"], result["variant"])

    wsgi = {twin(result): result for result in results if result["server"] == "wsgi"}
    for result in results:
        other = wsgi.get(twin(result)) if result["server"] == "asgi" else None
        if other is None:
            continue
        for connections, key in ((CONNECTIONS, "/wsgi"), (MANY_CONNECTIONS, "/wsgi at 256")):
            ours, theirs = (
                rates(result["endpoints"], connections),
                rates(other["endpoints"], connections),
            )
            for name in ours.keys() & theirs.keys():
                found = result["ratios"].setdefault(name, {})
                found[key] = ratio(ours[name], theirs[name])


def label(result: dict[str, Any], keys: list[str] | None = None) -> str:
    """The run's answers (only `keys`, if given), server mode, variant and ref."""
    data = result["data"]
    answers = " ".join(f"{key}={data[key]}" for key in keys or data)
    server = "" if "server" in data else f" {result['server']}"
    variant = f" {result['variant']}" if result["variant"] else ""
    return f"{answers}{server}{variant} @{result['ref']}".strip()


def table(results: list[dict[str, Any]]) -> str:
    """A Markdown table of every run: one row per endpoint."""
    header = (
        "| run | endpoint | req/s | p50 ms | p99 ms | req/s at 256 | errors at 256 "
        "| timeouts at 256 | SQL queries | / bare page | / bare hello | / wsgi | / wsgi at 256 |"
    )
    rows = [header, "|" + "---|" * 13]
    for result in results:
        for name, found in result["endpoints"].items():
            load32 = found.get(f"c{CONNECTIONS}", {})
            load256 = found.get(f"c{MANY_CONNECTIONS}", {})
            queries = found.get("queries")
            count = f"{queries['first']} / {queries['repeat']}" if queries else ""
            ratio = result["ratios"].get(name, {})
            errors = load256.get("non_2xx", 0) + load256.get("socket_errors", 0)
            cells = [
                label(result),
                name,
                f"{load32['rate']:.0f}" if load32 else "",
                load32.get("p50_ms", ""),
                load32.get("p99_ms", ""),
                f"{load256['rate']:.0f}" if load256 else "",
                errors if load256 else "",
                load256.get("timeouts", ""),
                count,
                *(ratio.get(key, "") for key in ("/bare page", "/bare hello", "/wsgi")),
                ratio.get("/wsgi at 256", ""),
            ]
            rows.append("| " + " | ".join(str(cell) for cell in cells) + " |")
    return "\n".join(rows)


def copy_table(results: list[dict[str, Any]]) -> str:
    """`copier copy` per run: the template's own work, and the post-copy task (`uv lock`)."""
    rows = ["| run | template work s | post-copy task (.env, uv lock) s |", "|---|---|---|"]
    for result in results:
        copy = result["copy"]
        rows.append(
            f"| {label(result)} | {copy['template_seconds']:.2f} | {copy['task_seconds']:.2f} |"
        )
    return "\n".join(rows)


def chart(results: list[dict[str, Any]], destination: Path) -> None:
    """Bars of req/s per endpoint, one bar per run, into a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(
        dict.fromkeys(name for r in results for name in rates(r["endpoints"], CONNECTIONS))
    )
    # Only what tells the runs apart.
    varying = [key for key in results[0]["data"] if len({r["data"][key] for r in results}) > 1]
    width = 0.8 / len(results)
    figure, axes = plt.subplots(figsize=(10, 4.5))
    for index, result in enumerate(results):
        measured = rates(result["endpoints"], CONNECTIONS)
        positions = [n + (index - (len(results) - 1) / 2) * width for n in range(len(names))]
        heights = [measured.get(name, 0) for name in names]
        axes.bar(positions, heights, width, label=label(result, varying))
    axes.set_xticks(range(len(names)), names, rotation=20)
    axes.set_ylabel(f"requests per second (wrk, {CONNECTIONS} connections)")
    answers = ", ".join(f"{k}={v}" for k, v in results[0]["data"].items() if k not in varying)
    axes.set_title(f"Generated project vs bare Django: 2 workers, production settings\n{answers}")
    axes.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(destination, dpi=100)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", action="append", default=[], help="question=answer[,answer...]")
    parser.add_argument("--seconds", type=int, default=5, help="length of each wrk run")
    parser.add_argument(
        "--ref",
        action="append",
        default=[],
        help="[LABEL=]COMMIT: the template commit to copy (default HEAD)",
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        help="NAME:VAR=value[,VAR=value]: server environment for both servers, e.g. "
        "threads1:GUNICORN_THREADS=1",
    )
    parser.add_argument("--out", type=Path, default=BENCH / "results", help="results folder")
    arguments = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is missing: apt-get install -y wrk", file=sys.stderr)
        return 1

    results = []
    for data in combinations(DEFAULT_DATA, arguments.data):
        for ref, variant in itertools.product(arguments.ref or ["HEAD"], arguments.variant or [""]):
            answers = ", ".join(f"{k}={v}" for k, v in data.items())
            print(f"combination: {answers} @{ref} {variant}")
            with tempfile.TemporaryDirectory() as scratch:
                result = bench_combination(data, ref, variant, Path(scratch), arguments.seconds)
                results.append(result)

    add_server_ratios(results)
    arguments.out.mkdir(parents=True, exist_ok=True)
    (arguments.out / "http.json").write_text(json.dumps(results, indent=2) + "\n")
    chart(results, arguments.out / "http.png")
    print(table(results))
    print()
    print(copy_table(results))
    print(f"written: {arguments.out / 'http.json'}, {arguments.out / 'http.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
