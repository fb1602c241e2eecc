"""Trivial tasks through a real Celery worker: tasks per second, prefork against threads.

Generates one combination with Celery, then for each pool starts the worker with the
command production uses (includes/deploy.jinja), the development settings and the
machine's Redis as broker and result store, with two concurrent slots on 127.0.0.1; sends
it 2,000 `celery.accumulate` tasks (Celery's built-in no-op: it returns its arguments) and
waits for every result. Each rate counts from the first send to the last
result: the producer, the broker, the worker and the result store together. Numbers, not
pass/fail: compare the pools from one run, never assert on them.

    uv run python bench/celery_throughput.py [--data tenancy=shared ...] [--tasks 2000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from common import deploy_include

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import generate  # noqa: E402
from tests.projects import Project, fresh_database  # noqa: E402
from tests.servers import background  # noqa: E402

CONCURRENCY = 2
READY_SECONDS = 60

# Run by `manage.py shell -c`: send the tasks, wait for their results, print the timings.
SEND = """
import time
from celery.result import ResultSet
from config.celery import app

tasks = {tasks}
started = time.perf_counter()
results = ResultSet([app.send_task("celery.accumulate", args=(n,)) for n in range(tasks)])
sent = time.perf_counter()
values = results.join_native(timeout=600)
done = time.perf_counter()
assert values == [[n] for n in range(tasks)], "a result went missing or came back wrong"
print(f"RESULT {{tasks}} {{sent - started:.3f}} {{done - started:.3f}}")
"""


def worker_command(answers: dict[str, Any]) -> list[str]:
    """The production worker command, exactly as includes/deploy.jinja gives it to every target."""
    return list(deploy_include(answers).background["worker"]["command"])


def wait_until_ready(project: Project, env: dict[str, str], name: str) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        ping = subprocess.run(
            [".venv/bin/celery", "--app", "config.celery:app", "inspect", "ping", "-d", name],
            cwd=project.path,
            env=project.env | env,
            capture_output=True,
            check=False,
            timeout=60,
        )
        if ping.returncode == 0:
            return
        time.sleep(0.5)
    raise RuntimeError(f"the {name} worker did not answer a ping in {READY_SECONDS} s")


def run_pool(
    project: Project, command: list[str], env: dict[str, str], pool: str, tasks: int, log: Path
) -> tuple[float, float]:
    """Seconds to send `tasks` tasks, and to get every result back, through a `pool` worker."""
    program, *options = command
    name = f"bench-{pool}@%h"
    full = [f".venv/bin/{program}", *options, "--pool", pool, "--concurrency", str(CONCURRENCY)]
    full += ["--hostname", name, "--loglevel", "WARNING"]
    with background(full, cwd=project.path, env=project.env | env, log=log):
        wait_until_ready(project, env, name.replace("%h", os.uname().nodename))
        output_text = project.manage("shell", "-c", SEND.format(tasks=tasks), **env)
    line = next(line for line in output_text.splitlines() if line.startswith("RESULT "))
    _, _, sent, done = line.split()
    return float(sent), float(done)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", action="append", default=[], help="question=answer")
    parser.add_argument("--tasks", type=int, default=2000, help="tasks per pool")
    arguments = parser.parse_args()
    data = {"use_celery": "true"} | dict(item.split("=", 1) for item in arguments.data)
    print(f"combination: {', '.join(f'{k}={v}' for k, v in data.items())}")

    with tempfile.TemporaryDirectory() as scratch:
        path = generate(Path(scratch, "project"), data)
        answers = yaml.safe_load((path / ".copier-answers.yml").read_text())
        with fresh_database("bench-celery") as database:
            project = Project(path, database)
            project.run("uv", "sync", "--locked", "--quiet")
            env = {"DJANGO_SETTINGS_MODULE": "config.settings.dev", "DJANGO_LOG_LEVEL": "WARNING"}
            migrate = "migrate" if answers.get("tenancy", "none") == "none" else "migrate_tenants"
            project.manage(migrate, **env)
            project.run(".venv/bin/celery", "--app", "config.celery:app", "purge", "-f", **env)
            command = worker_command(answers)
            print(f"worker: {' '.join(command)} --concurrency {CONCURRENCY}")
            for pool in ("prefork", "threads"):
                log = Path(scratch, f"worker-{pool}.log")
                sent, done = run_pool(project, command, env, pool, arguments.tasks, log)
                print(
                    f"{pool:<8} {arguments.tasks / done:8.1f} tasks/s "
                    f"({arguments.tasks} tasks: sent in {sent:.2f} s, all results in {done:.2f} s)"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
