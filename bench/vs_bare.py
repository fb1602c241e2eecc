"""The generated project against bare Django, in interleaved rounds, with memory per instance.

For each combination (--data; default the default answers, server wsgi and asgi) the project
is copied, installed, migrated and seeded as bench/http_endpoints.py does, its static files
collected, and served by its production web command (2 workers, production settings) beside
bench/bare/ under the same command. Then, --rounds times, each endpoint is loaded with wrk at
32 and at 256 connections, ours and its bare counterpart in turn (the order swapping each
round), and the round's ratio ours / bare is kept:

- /healthz against the bare hello view, and a static file against the bare hello view;
- the html list (50 rows, signed in) against the bare page: the project's own template
  rendered by bare Django from plain objects, with no middleware and no database.

Reported per endpoint and connection count: the median of the per-round ratios with their
spread, each side's median rate, and any non-2xx, socket error or timeout. After the load,
memory per instance: the sum of the PSS of the arbiter and its workers (pages the workers
share after the fork count once, split between them), for ours and for bare Django.

Numbers, not pass/fail: a loaded machine moves both sides of a round together, so the ratio
is what to read.

    nice -n 10 uv run python bench/vs_bare.py [--data server=wsgi ...] [--rounds 3]
        [--seconds 5] [--ref before=<commit> --ref after=HEAD] [--out bench/results]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common import (
    Seeded,
    combinations,
    copy_in_two_steps,
    production_env,
    seeded,
    server_mode,
    web_command,
    wrk,
)
from http_endpoints import BENCH, Served, ratio, side_by_side

from tests.servers import free_port

DEFAULT_DATA = {"server": "wsgi,asgi"}
MANY = 256
CONNECTIONS = (32, MANY)
# At 256 connections a 60 req/s page answers its queue in about 4 s: a shorter run can end
# before the first answers arrive.
MANY_MIN_SECONDS = 10


@dataclass(frozen=True)
class Pair:
    name: str
    ours: str  # a path, "{static}" standing for a collected file's hashed name
    bare: str
    auth: str = ""  # "session": sent with the reader's session cookie


PAIRS = (
    Pair("healthz / bare hello", "/healthz", "/hello"),
    Pair("static file / bare hello", "/static/{static}", "/hello"),
    Pair("html list / bare page", "/articles/?page_size=50", "/page?page_size=50", "session"),
)


@dataclass(frozen=True)
class Target:
    base: str  # the server's URL
    path: str
    headers: dict[str, str]

    def load(self, seconds: int, connections: int) -> dict[str, Any]:
        """wrk on the path, once the server has answered what an earlier run left queued.

        The wait is a request to the same path: under asgi /healthz is answered on the event
        loop at once, while pages still queue for the worker's thread.
        """
        request = urllib.request.Request(self.base + self.path, headers=self.headers)
        with urllib.request.urlopen(request, timeout=120) as response:
            response.read()
        found = wrk(self.base + self.path, self.headers, seconds, connections=connections)
        return {
            key: found.as_dict()[key] for key in ("rate", "non_2xx", "socket_errors", "timeouts")
        }


def listeners(base: str) -> list[int]:
    """The processes that hold the listening socket of `base`: the arbiter and its workers."""
    port = base.rpartition(":")[2]
    output = subprocess.run(
        ["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True, check=True
    ).stdout
    return sorted({int(pid) for pid in re.findall(r"pid=(\d+)", output)})


def pss_mib(pids: list[int]) -> float:
    """The summed proportional set size of `pids`, in MiB (/proc/PID/smaps_rollup)."""
    total_kib = 0
    for pid in pids:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        total_kib += int(re.search(r"^Pss:\s+(\d+) kB", rollup, re.MULTILINE)[1])  # type: ignore[index]
    return round(total_kib / 1024, 1)


def rounds(
    pairs: Iterator[tuple[Pair, Target, Target]], count: int, seconds: int
) -> dict[str, Any]:
    """Each pair at each connection count, `count` times, ours and bare in turn."""
    measured: dict[str, Any] = {}
    for pair, ours, bare in pairs:
        for connections in CONNECTIONS:
            runs = []
            for index in range(count):
                sides = [("ours", ours), ("bare", bare)]
                if index % 2:
                    sides.reverse()
                length = seconds if connections < MANY else max(seconds, MANY_MIN_SECONDS)
                run = {side: target.load(length, connections) for side, target in sides}
                run["ratio"] = ratio(run["ours"]["rate"], run["bare"]["rate"])
                runs.append(run)
            ratios = [run["ratio"] for run in runs if run["ratio"] is not None] or [0.0]
            summary = {
                "ratio_median": statistics.median(ratios),
                "ratio_min": min(ratios),
                "ratio_max": max(ratios),
                "ours_rate_median": statistics.median(run["ours"]["rate"] for run in runs),
                "bare_rate_median": statistics.median(run["bare"]["rate"] for run in runs),
                "ours_errors": sum(
                    run["ours"][key] for run in runs for key in ("non_2xx", "socket_errors")
                ),
                "ours_timeouts": sum(run["ours"]["timeouts"] for run in runs),
                "runs": runs,
            }
            measured[f"{pair.name} at {connections}"] = summary
            print(
                f"  {pair.name:<26} at {connections:>3}: {summary['ratio_median']:.2f}x "
                f"({summary['ratio_min']:.2f}-{summary['ratio_max']:.2f}), "
                f"{summary['ours_rate_median']:.0f} vs {summary['bare_rate_median']:.0f} req/s, "
                f"{summary['ours_errors']} errors, {summary['ours_timeouts']} timeouts",
                flush=True,
            )
    return measured


def pairs(seed: Seeded, served: Served) -> Iterator[tuple[Pair, Target, Target]]:
    headers = {"Host": seed.host, "X-Forwarded-Proto": "https"}
    for pair in PAIRS:
        sent = (headers | {"Cookie": served.cookie}) if pair.auth == "session" else headers
        ours = Target(served.base, pair.ours.format(static=served.static), sent)
        yield pair, ours, Target(served.bare_base, pair.bare, {})


def bench(
    data: dict[str, str], ref: str, scratch: Path, count: int, seconds: int
) -> dict[str, Any]:
    path = scratch / "project"
    label, _, commit = ref.rpartition("=")
    copy_in_two_steps(path, data, commit)
    with seeded(path, f"bench-vs-bare-{sorted(data.items())}") as seed:
        production = production_env(seed.project, free_port())
        web = web_command(seed.answers)
        with side_by_side(seed, web, production, scratch) as served:
            measured = rounds(pairs(seed, served), count, seconds)
            memory = {
                "ours_pss_mib": pss_mib(listeners(served.base)),
                "bare_pss_mib": pss_mib(listeners(served.bare_base)),
            }
        print(f"  memory per instance (PSS, arbiter and workers): {memory}", flush=True)
        log = (scratch / "server.log").read_text()
        return {
            "data": data,
            "ref": label or commit,
            "commit": commit,
            "server": server_mode(web),
            "rounds": count,
            "seconds": seconds,
            "endpoints": measured,
            "memory": memory,
            "tracebacks_in_server_log": log.count("Traceback"),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", action="append", default=[], help="question=answer[,answer...]")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (at least 3)")
    parser.add_argument("--seconds", type=int, default=5, help="length of each wrk run")
    parser.add_argument(
        "--ref",
        action="append",
        default=[],
        help="[LABEL=]COMMIT: the template commit to copy (default HEAD); one run per ref",
    )
    parser.add_argument("--out", type=Path, default=BENCH / "results", help="results folder")
    arguments = parser.parse_args()
    if arguments.rounds < 3:
        parser.error("--rounds: at least 3, or the median of the ratios means little")
    results = []
    for data in combinations(DEFAULT_DATA, arguments.data):
        for ref in arguments.ref or ["HEAD"]:
            answers = ", ".join(f"{k}={v}" for k, v in data.items())
            print(f"combination: {answers} @{ref}", flush=True)
            with tempfile.TemporaryDirectory() as scratch:
                run = bench(data, ref, Path(scratch), arguments.rounds, arguments.seconds)
                results.append(run)
    arguments.out.mkdir(parents=True, exist_ok=True)
    destination = arguments.out / "vs-bare.json"
    destination.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written: {destination}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
