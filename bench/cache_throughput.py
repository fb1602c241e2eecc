"""The article list API with its cache and without: requests per second, and the ratio.

Generates one combination and serves it with its production command (includes/deploy.jinja:
gunicorn, 2 workers) and production settings on 127.0.0.1, against the machine's PostgreSQL
and Redis; seeds 50 published articles through the services, and loads the list with wrk.
Each round starts the same command twice: with the list cache off
(ARTICLE_LIST_CACHE_SECONDS=0), then on. Last, it counts the SQL queries of a miss and of a
hit through Django's test client, in the same settings. Numbers, not pass/fail: compare the
ratio from one run, never assert on it.

    uv run python bench/cache_throughput.py [--data tenancy=shared ...] [--seconds 5]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from statistics import median

from common import (
    access_token,
    bound_to_loopback,
    parse_data,
    production_env,
    seeded,
    web_command,
    wrk,
)

from tests.conftest import generate
from tests.servers import free_port, serve

ARTICLES = "/api/v1/articles/"
CONNECTIONS = 16

COUNT_QUERIES = """
from contextlib import ExitStack
from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from {slug}.articles.cache import forget_lists

def main():
    client = Client(HTTP_HOST={host!r}, HTTP_AUTHORIZATION={authorization!r})
    forget_lists()
    for label in ("miss", "hit"):
        with ExitStack() as stack:
            captured = [stack.enter_context(CaptureQueriesContext(c)) for c in connections.all()]
            status = client.get({path!r}).status_code
        print(f"{{label}}: HTTP {{status}}, {{sum(len(c) for c in captured)}} SQL queries")
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", action="append", default=[], help="question=answer")
    parser.add_argument("--seconds", type=int, default=5, help="length of each wrk run")
    parser.add_argument("--rounds", type=int, default=2, help="uncached-then-cached pairs")
    arguments = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is missing: apt-get install -y wrk", file=sys.stderr)
        return 1
    data = parse_data(arguments.data)
    print(f"combination: {', '.join(f'{k}={v}' for k, v in data.items()) or 'defaults'}")

    with tempfile.TemporaryDirectory() as scratch:
        path = generate(Path(scratch, "project"), data)
        with seeded(path, "bench-cache") as bench:
            port = free_port()
            production = production_env(bench.project, port)
            command = bound_to_loopback(web_command(bench.answers), port)
            rates: dict[str, list[float]] = {"uncached": [], "cached": []}
            ceiling = 0.0
            for _ in range(arguments.rounds):
                for label, seconds in (("uncached", "0"), ("cached", "30")):
                    env = production | {"ARTICLE_LIST_CACHE_SECONDS": seconds}
                    log = Path(scratch, f"server-{label}.log")
                    with serve(
                        command, port=port, cwd=path, env=bench.project.env | env, log=log
                    ) as base:
                        authorization = f"Bearer {access_token(base, bench.host)}"
                        headers = {"Host": bench.host, "Authorization": authorization}
                        wrk(base + ARTICLES, headers, 1)  # warm up: connections, the cache
                        load = wrk(base + ARTICLES, headers, arguments.seconds)
                        if not ceiling:  # what this server answers when it does no work at all
                            ceiling = wrk(base + "/healthz", {}, arguments.seconds).rate
                    rates[label].append(load.rate)
                    print(f"{label:<9} {load.rate:9.1f} req/s ({load.non_2xx} not 2xx/3xx)")

            counting = COUNT_QUERIES.format(
                slug=bench.slug, host=bench.host, authorization=authorization, path=ARTICLES
            )
            queries = bench.shell(counting, **production, ARTICLE_LIST_CACHE_SECONDS="30")
        uncached, cached = median(rates["uncached"]), median(rates["cached"])
        print(f"median: uncached {uncached:.1f} req/s, cached {cached:.1f} req/s")
        print(f"ratio cached/uncached: {cached / uncached:.2f}")
        print(f"/healthz on the same server: {ceiling:.1f} req/s")
        print("one list request, a miss then a hit:")
        for line in queries.splitlines():
            if line.startswith(("miss:", "hit:")):
                print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
