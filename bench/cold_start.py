"""Cold start: from the web process's start to its first 200, on /healthz and the html list.

What a user waits for when Fly or Cloud Run starts an instance from zero. For each ref
(--ref, default HEAD) the combination (--data; default tenancy none, server wsgi) is copied,
installed, migrated and seeded as bench/http_endpoints.py does, and its static files are
collected. Then, --rounds times, each ref in turn (before, after, before, after, ...), the
production web command starts (2 workers, production settings, on 127.0.0.1) and the path is
asked every 10 ms from the moment the process is spawned until it answers 200; a process per
path and round. Reported: each ref's median and spread, and the median of the per-round
ratio to the first ref.

Numbers, not pass/fail: this machine is shared, so compare the refs of one run.

    nice -n 10 uv run python bench/cold_start.py [--data server=asgi ...] [--rounds 7]
        [--ref before=<commit> --ref after=HEAD] [--out bench/results]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path

from common import (
    EMAIL,
    Seeded,
    bound_to_loopback,
    copy_in_two_steps,
    parse_data,
    production_env,
    seeded,
    web_command,
)
from http_endpoints import SESSION

from tests.servers import background, free_port

BENCH = Path(__file__).resolve().parent
DEFAULT_DATA = {"tenancy": "none", "server": "wsgi", "use_htmx": "true"}
PATHS = {"healthz": "/healthz", "html list": "/articles/?page_size=50"}
POLL_SECONDS = 0.01
GIVE_UP_SECONDS = 30


def first_200(url: str, headers: dict[str, str], started: float) -> float:
    """Seconds from `started` until `url` answers 200; asked every POLL_SECONDS."""
    request = urllib.request.Request(url, headers=headers)
    while time.perf_counter() - started < GIVE_UP_SECONDS:
        try:
            with urllib.request.urlopen(request, timeout=GIVE_UP_SECONDS) as response:
                if response.status == 200:
                    return time.perf_counter() - started
        except OSError:
            pass
        time.sleep(POLL_SECONDS)
    raise SystemExit(f"{url} did not answer 200 in {GIVE_UP_SECONDS} s")


class Instance:
    """One ref's seeded project, ready to be started again and again."""

    def __init__(self, bench: Seeded, scratch: Path) -> None:
        self.bench = bench
        self.scratch = scratch
        self.port = free_port()
        self.production = production_env(bench.project, self.port)
        # As the image build does: the manifest storage names each file by its hash.
        bench.project.manage("collectstatic", "--no-input", "--verbosity", "0", **self.production)
        session = bench.shell(SESSION.format(slug=bench.slug, email=EMAIL), **self.production)
        cookie = re.findall(r"^SESSION (\S+)$", session, re.MULTILINE)[-1]
        self.headers = {"Host": bench.host, "X-Forwarded-Proto": "https", "Cookie": cookie}
        self.command = bound_to_loopback(web_command(bench.answers), self.port)

    def start_to_200(self, path: str) -> float:
        log = self.scratch / "server.log"
        started = time.perf_counter()
        env = self.bench.project.env | self.production
        with background(self.command, cwd=self.bench.project.path, env=env, log=log):
            return first_200(f"http://127.0.0.1:{self.port}{path}", self.headers, started)


def summary(seconds: list[float]) -> dict[str, float]:
    return {"median": statistics.median(seconds), "min": min(seconds), "max": max(seconds)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", action="append", default=[], help="question=answer")
    parser.add_argument("--rounds", type=int, default=5, help="starts per ref and path")
    parser.add_argument("--ref", action="append", default=[], help="[label=]commit")
    parser.add_argument("--out", type=Path, default=BENCH / "results", help="results folder")
    arguments = parser.parse_args()
    data = DEFAULT_DATA | parse_data(arguments.data)
    refs = arguments.ref or ["HEAD"]
    times: dict[str, dict[str, list[float]]] = {ref: {name: [] for name in PATHS} for ref in refs}
    with tempfile.TemporaryDirectory() as scratch, ExitStack() as stack:
        instances = {}
        for number, ref in enumerate(refs):
            folder = Path(scratch, str(number))
            copy_in_two_steps(folder / "project", data, ref.rpartition("=")[2])
            bench = stack.enter_context(seeded(folder / "project", f"bench-cold-{number}"))
            instances[ref] = Instance(bench, folder)
        for _ in range(arguments.rounds):
            for name, path in PATHS.items():
                for ref, instance in instances.items():
                    times[ref][name].append(instance.start_to_200(path))
    first = refs[0]
    per_ref: dict[str, dict[str, object]] = {}
    for ref in refs:
        for name in PATHS:
            seconds = times[ref][name]
            ratios = [a / b for a, b in zip(seconds, times[first][name], strict=True)]
            found = summary(seconds) | {f"ratio to {first}": statistics.median(ratios)}
            per_ref.setdefault(ref, {})[name] = found
            print(
                f"{ref:<24} {name:<10} median {found['median']:.3f} s"
                f" (min {found['min']:.3f}, max {found['max']:.3f});"
                f" median per-round ratio to {first}: {statistics.median(ratios):.2f}"
            )
    results = {"data": data, "rounds": arguments.rounds, "refs": per_ref}
    arguments.out.mkdir(parents=True, exist_ok=True)
    (arguments.out / "cold-start.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
