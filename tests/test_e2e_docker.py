"""Tier 4, container: the image builds, migrates with its own command and serves its probes.

A real Docker engine builds every covering combination's image (every answer appears at
least once) and runs it with the host's network against the machine's PostgreSQL and Redis.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
import time
import urllib.request
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import POSTGRES, REDIS, ProjectCache, covering_params, missing
from .docker_engine import REQUIRED, Engine, engine
from .matrix import Combination
from .projects import fresh_database
from .servers import free_port
from .settings_env import production_env

pytestmark = pytest.mark.e2e

BUILD_TIMEOUT = 900
READY_TIMEOUT = 60
REDIS_DB = 13


@pytest.fixture(scope="session")
def docker() -> Iterator[Engine]:
    absent = [path for path in REQUIRED if shutil.which(path) is None]
    if absent:
        missing(
            f"{', '.join(absent)} missing: apt-get install docker.io debootstrap (.ci/run does)"
        )
    with engine() as started:
        yield started


def get(url: str) -> tuple[int, dict[str, object]]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, json.loads(response.read())


def wait_until_serving(url: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        try:
            get(url)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def build(docker: Engine, context: Path, tag: str) -> float:
    started = time.perf_counter()
    built = docker.docker(
        "build", "--network", "host", "--tag", tag, str(context), timeout=BUILD_TIMEOUT
    )
    assert built.returncode == 0, f"docker build failed:\n{built.stderr[-6000:]}"
    return time.perf_counter() - started


def base_image(project: Path) -> str:
    froms = [
        line.split()[1]
        for line in (project / "Dockerfile").read_text().splitlines()
        if line.startswith("FROM ")
    ]
    assert len(set(froms)) == 1, f"one base image for every stage, not {froms}"
    return froms[0]


@pytest.mark.parametrize("combination", covering_params())
def test_image_builds_migrates_and_serves(
    docker: Engine,
    projects: ProjectCache,
    combination: Combination,
    record_property: pytest.RecordProperty,
) -> None:
    POSTGRES.require()
    REDIS.require()
    project = projects.get(combination)
    compose = yaml.safe_load((project / "compose.yaml").read_text())
    tag = f"cdp-e2e:{zlib.crc32(combination.id.encode()):08x}"

    base = base_image(project)
    docker.ensure_base_image(base)
    seconds = build(docker, project, tag)
    size, base_size = (
        int(docker.docker("image", "inspect", "--format", "{{.Size}}", image).stdout) / 1e6
        for image in (tag, base)
    )
    record_property(
        "measured",
        f"{combination.id}: image {size:.0f} MB ({size - base_size:.0f} MB on the base image), "
        f"built in {seconds:.1f} s",
    )

    # A code change rebuilds only the layers after COPY . . (the dependencies stay cached).
    with tempfile.TemporaryDirectory() as edited:
        copy = Path(edited) / "project"
        shutil.copytree(
            project, copy, ignore=shutil.ignore_patterns(".venv", "*_cache", "__pycache__")
        )
        with (copy / "manage.py").open("a") as manage:
            manage.write("# a code change\n")
        warm = build(docker, copy, tag + "-edited")
    record_property("measured", f"{combination.id}: rebuilt after a code change in {warm:.1f} s")
    docker.docker("image", "rm", tag + "-edited")

    try:
        with contextlib.ExitStack() as databases:
            database = databases.enter_context(fresh_database(f"e2e-{combination.id}"))
            env = {"DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}"}
            if combination.as_data().get("tenancy") == "database":
                # A tenant database of its own, as production registers each tenant's.
                demo = databases.enter_context(fresh_database(f"e2e-demo-{combination.id}"))
                env["TENANT_DATABASES"] = f"demo=postgres://postgres@127.0.0.1:5432/{demo}"
            serve(docker, project, tag, compose, env)
    finally:
        # The build cache stays for the next run; the images would only fill the disk.
        docker.docker("image", "rm", tag)


@contextmanager
def container(docker: Engine, name: str, *run: str) -> Iterator[str]:
    """A detached container on the host's network, removed after."""
    docker.docker("rm", "--force", name)
    started = docker.docker("run", "--detach", "--name", name, "--network", "host", *run)
    assert started.returncode == 0, started.stderr
    try:
        yield name
    finally:
        docker.docker("rm", "--force", name, timeout=60)


def logs(docker: Engine, name: str) -> tuple[str, str]:
    output = docker.docker("logs", name)
    return output.stdout, output.stderr


def eventually(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, f"{what} within {READY_TIMEOUT} s"
        time.sleep(1)


def serve(
    docker: Engine, project: Path, tag: str, compose: dict[str, Any], databases: dict[str, str]
) -> None:
    """Migrate with the image's own command, then serve; a worker takes a task if there is one."""
    required = [name for name, needed in production_env(project).items() if needed]
    env = (
        {name: "e2e" for name in required}
        | {
            "DJANGO_SECRET_KEY": "e2e-" + "k" * 50,
            "EMAIL_URL": "consolemail://",
            "REDIS_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
            "PORT": str(free_port()),
        }
        | databases
    )
    env_args = [arg for name, value in env.items() for arg in ("--env", f"{name}={value}")]

    migrate = compose["services"]["migrate"]["command"]
    migrated = docker.docker("run", "--rm", "--network", "host", *env_args, tag, *migrate)
    assert migrated.returncode == 0, f"{' '.join(migrate)} failed:\n{migrated.stderr[-4000:]}"
    assert "Applying " in migrated.stdout, migrated.stdout[-2000:]

    with container(docker, f"{tag.replace(':', '-')}-web", *env_args, tag) as web:
        base = f"http://127.0.0.1:{env['PORT']}"
        wait_until_serving(f"{base}/healthz")
        assert get(f"{base}/healthz") == (200, {"status": "ok"})
        assert get(f"{base}/readyz") == (200, {"status": "ok"})

        # The image's own HEALTHCHECK passes, and nothing runs as root.
        inspect = docker.docker("inspect", "--format", "{{json .Config.Healthcheck.Test}}", tag)
        test = json.loads(inspect.stdout)
        assert test[0] == "CMD"
        assert docker.docker("exec", web, *test[1:]).returncode == 0
        assert docker.docker("exec", web, "id", "-u").stdout.strip() == "10001"
        assert " 500 " not in "".join(logs(docker, web))

    if "worker" in compose["services"]:
        worker = compose["services"]["worker"]["command"]
        celery = ["celery", "--app", worker[worker.index("--app") + 1]]
        with container(docker, f"{tag.replace(':', '-')}-worker", *env_args, tag, *worker) as name:
            eventually(
                lambda: docker.docker("exec", name, *celery, "inspect", "ping").returncode == 0,
                "the worker answers a ping over the broker",
            )
            sent = docker.docker("exec", name, *celery, "call", "celery.backend_cleanup")
            assert sent.returncode == 0, sent.stderr
            eventually(
                lambda: "succeeded" in "".join(logs(docker, name)),
                "the worker runs a task it was sent",
            )
