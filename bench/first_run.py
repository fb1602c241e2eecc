"""Time `copier copy` and the road from a fresh copy to a green test run.

Numbers, not pass/fail: run it on a quiet machine and compare runs, never assert on them.

    uv run python bench/first_run.py [--data django_version=6.1 ...]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from common import copy_in_two_steps, parse_data, run, timed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", action="append", default=[], help="question=answer")
    data = parse_data(parser.parse_args().data)

    with tempfile.TemporaryDirectory() as scratch:
        project = Path(scratch, "project")
        total = sum(copy_in_two_steps(project, data).values())
        total += timed("uv sync --locked (warm cache)", run, ["uv", "sync", "--locked"], project)
        total += timed("uv run pytest (SQLite)", run, ["uv", "run", "pytest", "-q"], project)
        print(f"{'copy to a green test run':<45} {total:7.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
