"""What OpenTelemetry tracing costs a generated project in throughput, in interleaved rounds.

For each combination (--data; default the default answers, server wsgi and asgi) the project is
copied, installed, migrated and seeded as bench/http_endpoints.py does, its static files
collected, and served twice by its production web command (2 workers, production settings):
untraced (no OTEL_EXPORTER_OTLP_ENDPOINT), and traced, exporting over OTLP/HTTP to a sink this
script runs on 127.0.0.1 (it answers every POST to /v1/traces with an empty 200 and counts the
requests and bytes, to show the spans arrive). Then, --rounds times, each endpoint is loaded
with wrk at 32 connections, untraced and traced in turn (the order swapping each round), and
the round's ratio traced / untraced is kept:

- the API's article list (50 rows, a bearer token): the database, the cache, the middleware;
- /healthz, answered before Django's middleware: tracing should cost it nothing.

Reported per endpoint: the median of the per-round ratios with their spread, each side's median
rate, any non-2xx, socket error or timeout, what the sink received, and the tracebacks and
export failures in each server's log.

    nice -n 10 uv run python bench/tracing_cost.py [--data server=wsgi ...] [--rounds 3]
        [--seconds 5] [--out bench/results]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from common import (
    access_token,
    bound_to_loopback,
    combinations,
    copy_in_two_steps,
    production_env,
    seeded,
    server_mode,
    web_command,
)
from http_endpoints import BENCH, ratio
from vs_bare import Target

from tests.servers import free_port, serve

DEFAULT_DATA = {"server": "wsgi,asgi"}
CONNECTIONS = 32
ENDPOINTS = {"api list": "/api/v1/articles/?page_size=50", "healthz": "/healthz"}
# The batch span processor exports every 5 s (OTEL_BSP_SCHEDULE_DELAY): wait that long, and a
# little more, for the last spans before reading what the sink received.
FLUSH_SECONDS = 7
# Lines of a server's log that say something went wrong, counted per server.
TROUBLE = ("Traceback", "Failed to export", "Exception while exporting")


@dataclass
class Sink:
    """What the OTLP sink received: POSTs to /v1/traces, their bytes, and anything else."""

    requests: int = 0
    bytes: int = 0
    other: int = 0  # requests to any other path or method
    lock: threading.Lock = field(default_factory=threading.Lock)

    def counts(self) -> dict[str, int]:
        with self.lock:
            return {"requests": self.requests, "bytes": self.bytes, "other": self.other}


@contextmanager
def otlp_sink() -> Iterator[tuple[str, Sink]]:
    """An HTTP server on 127.0.0.1 that takes OTLP/HTTP traces; yields its URL and counts."""
    sink = Sink()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the exporter's session expects

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with sink.lock:
                if self.path == "/v1/traces":
                    sink.requests += 1
                    sink.bytes += len(body)
                else:
                    sink.other += 1
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", sink
    finally:
        server.shutdown()
        server.server_close()


def difference(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {key: after[key] - before[key] for key in after}


def rounds(
    targets: dict[str, dict[str, Target]], sink: Sink, count: int, seconds: int
) -> dict[str, Any]:
    """Each endpoint `count` times, untraced and traced in turn, the order swapping."""
    measured: dict[str, Any] = {}
    for name, sides in targets.items():
        runs = []
        for index in range(count):
            order = ["untraced", "traced"][:: -1 if index % 2 else 1]
            before = sink.counts()
            run: dict[str, Any] = {side: sides[side].load(seconds, CONNECTIONS) for side in order}
            run["ratio"] = ratio(run["traced"]["rate"], run["untraced"]["rate"])
            run["sink_during_round"] = difference(sink.counts(), before)
            runs.append(run)
        ratios = [run["ratio"] for run in runs if run["ratio"] is not None] or [0.0]
        summary = {
            "ratio_median": statistics.median(ratios),
            "ratio_min": min(ratios),
            "ratio_max": max(ratios),
            **{
                f"{side}_rate_median": statistics.median(run[side]["rate"] for run in runs)
                for side in ("untraced", "traced")
            },
            **{
                f"{side}_errors": sum(
                    run[side][key] for run in runs for key in ("non_2xx", "socket_errors")
                )
                + sum(run[side]["timeouts"] for run in runs)
                for side in ("untraced", "traced")
            },
            "runs": runs,
        }
        measured[name] = summary
        print(
            f"  {name:<10} traced/untraced {summary['ratio_median']:.2f}x "
            f"({summary['ratio_min']:.2f}-{summary['ratio_max']:.2f}), "
            f"{summary['traced_rate_median']:.0f} vs {summary['untraced_rate_median']:.0f} req/s, "
            f"errors {summary['traced_errors']} traced, {summary['untraced_errors']} untraced",
            flush=True,
        )
    return measured


def trouble(log: Path) -> dict[str, Any]:
    """How often each TROUBLE marker appears in `log`, and the first traceback's lines."""
    text = log.read_text(errors="replace")
    found: dict[str, Any] = {marker: text.count(marker) for marker in TROUBLE}
    if "Traceback" in text:
        found["first_traceback"] = text[text.index("Traceback") :][:4000].splitlines()
    # The project logs JSON lines: its errors by logger and event, and the paths of the
    # requests they happened in (from each request's own line, by request id).
    lines = []
    for line in text.splitlines():
        with contextlib.suppress(ValueError):
            lines.append(json.loads(line))
    errors = [line for line in lines if line.get("level") in {"error", "critical"}]
    ids = {line.get("request_id") for line in errors} - {None}
    found["errors"] = Counter(f"{line.get('logger')}: {line.get('event')}" for line in errors)
    found["error_requests"] = Counter(
        line.get("path")
        for line in lines
        if line.get("event") == "request" and line.get("request_id") in ids
    )
    return found


def bench(data: dict[str, str], scratch: Path, count: int, seconds: int) -> dict[str, Any]:
    path = scratch / "project"
    copy_in_two_steps(path, data)
    with seeded(path, f"bench-tracing-{sorted(data.items())}") as seed, otlp_sink() as (url, sink):
        web = web_command(seed.answers)
        untraced = production_env(seed.project, free_port())
        untraced.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
        traced = production_env(seed.project, free_port(), OTEL_EXPORTER_OTLP_ENDPOINT=url)
        seed.project.manage("collectstatic", "--no-input", "--verbosity", "0", **untraced)
        env = {k: v for k, v in seed.project.env.items() if not k.startswith("OTEL_")}
        logs = {"untraced": scratch / "untraced.log", "traced": scratch / "traced.log"}
        with (
            serve(
                bound_to_loopback(web, int(untraced["PORT"])),
                port=int(untraced["PORT"]),
                cwd=path,
                env=env | untraced,
                log=logs["untraced"],
            ) as untraced_base,
            serve(
                bound_to_loopback(web, int(traced["PORT"])),
                port=int(traced["PORT"]),
                cwd=path,
                env=env | traced,
                log=logs["traced"],
            ) as traced_base,
        ):
            bases = {"untraced": untraced_base, "traced": traced_base}
            headers = {"Host": seed.host, "X-Forwarded-Proto": "https"}
            auth = {
                side: {"Authorization": f"Bearer {access_token(base, seed.host)}"}
                for side, base in bases.items()
            }
            targets = {
                name: {
                    side: Target(base, endpoint, headers | (auth[side] if "api" in name else {}))
                    for side, base in bases.items()
                }
                for name, endpoint in ENDPOINTS.items()
            }
            measured = rounds(targets, sink, count, seconds)
            time.sleep(FLUSH_SECONDS)
            received = sink.counts()
        print(f"  the sink received {received}", flush=True)
        logged = {side: trouble(log) for side, log in logs.items()}
        for side, found in logged.items():
            counts = {key: found[key] for key in (*TROUBLE, "errors", "error_requests")}
            print(f"  in the {side} server's log: {counts}", flush=True)
            print("\n".join(found.get("first_traceback", [])[:40]), flush=True)
        return {
            "data": data,
            "server": server_mode(web),
            "rounds": count,
            "seconds": seconds,
            "connections": CONNECTIONS,
            "endpoints": measured,
            "sink_received": received,
            "server_logs": logged,
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", action="append", default=[], help="question=answer[,answer...]")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (at least 3)")
    parser.add_argument("--seconds", type=int, default=5, help="length of each wrk run")
    parser.add_argument("--out", type=Path, default=BENCH / "results", help="results folder")
    arguments = parser.parse_args()
    if arguments.rounds < 3:
        parser.error("--rounds: at least 3, or the median of the ratios means little")
    arguments.out.mkdir(parents=True, exist_ok=True)
    for data in combinations(DEFAULT_DATA, arguments.data):
        print(f"combination: {', '.join(f'{k}={v}' for k, v in data.items())}", flush=True)
        with tempfile.TemporaryDirectory() as scratch:
            result = bench(data, Path(scratch), arguments.rounds, arguments.seconds)
        destination = arguments.out / f"tracing-cost-{result['server']}.json"
        destination.write_text(json.dumps(result, indent=2) + "\n")
        print(f"written: {destination}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
