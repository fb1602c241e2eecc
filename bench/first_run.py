"""Time `copier copy` and the road from a fresh copy to a green test run.

Numbers, not pass/fail: run it on a quiet machine and compare runs, never assert on them.

    uv run python bench/first_run.py [--data django_version=6.1 ...]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import copier

ROOT = Path(__file__).resolve().parent.parent


def timed(label: str, function: object, *args: object, **kwargs: object) -> float:
    started = time.perf_counter()
    function(*args, **kwargs)  # type: ignore[operator]
    seconds = time.perf_counter() - started
    print(f"{label:<45} {seconds:7.2f} s")
    return seconds


def run(command: list[str], cwd: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"}
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", action="append", default=[], help="question=answer")
    data = dict(item.split("=", 1) for item in parser.parse_args().data)
    options = {"data": data, "defaults": True, "unsafe": True, "vcs_ref": "HEAD", "quiet": True}

    with tempfile.TemporaryDirectory() as scratch:
        template_only = Path(scratch, "template-only")
        timed(
            "copier copy, template work only",
            copier.run_copy,
            str(ROOT),
            template_only,
            skip_tasks=True,
            **options,
        )
        project = Path(scratch, "project")
        total = timed(
            "copier copy, with its task (.env, uv lock)",
            copier.run_copy,
            str(ROOT),
            project,
            **options,
        )
        total += timed("uv sync --locked (warm cache)", run, ["uv", "sync", "--locked"], project)
        total += timed("uv run pytest (SQLite)", run, ["uv", "run", "pytest", "-q"], project)
        print(f"{'copy to a green test run':<45} {total:7.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
