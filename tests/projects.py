"""Generated projects as the tiers run them: a project's commands, databases and worker folders.

The project tier, the end-to-end tiers and the benchmarks share these.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
import tomllib
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import pytest

from .conftest import POSTGRES, REDIS, redis_database
from .servers import run_ok
from .settings_env import production_env

STEP_TIMEOUT = 600
PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DJANGO_SECRET_KEY": "production-check-" + "k" * 50,
    "EMAIL_URL": "consolemail://",
}


class Project:
    """A generated project with its own database and Redis database number.

    Its virtualenv is `.venv` unless `venv` names another: the project tier gives each
    worker one, which `uv sync --locked` makes exactly what each project's lock says. Like
    GitHub's uv cache, it saves each run installing and compiling the same packages again.
    """

    def __init__(self, path: Path, database: str, venv: Path | None = None) -> None:
        self.path = path
        self.database = database
        self.venv = venv or path / ".venv"
        self.env = {
            key: value
            for key, value in os.environ.items()
            if key not in {"VIRTUAL_ENV", "DJANGO_SETTINGS_MODULE", "PYTHONPATH"}
            and not key.startswith(("PYTEST_", "COV_", "DJANGO_"))
        }
        self.env |= {
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}",
            # The suite flushes its Redis database between tests: spread concurrent runs
            # (xdist workers, other checkouts) over databases 1-15.
            "REDIS_URL": f"redis://127.0.0.1:6379/{redis_database()}",
        }
        self.env |= suite_temp_root()
        if venv is not None:
            self.env["UV_PROJECT_ENVIRONMENT"] = str(venv)

    def run(self, *command: str, **env: str) -> str:
        return run_ok(*command, cwd=self.path, env=self.env | env, timeout=STEP_TIMEOUT)

    def manage(self, *arguments: str, **env: str) -> str:
        return self.run(str(self.venv / "bin" / "python"), "manage.py", *arguments, **env)

    def production(self, **env: str) -> dict[str, str]:
        """PRODUCTION plus a stand-in for every other name the production settings require."""
        required = [name for name, needed in production_env(self.path).items() if needed]
        stand_ins = {name: "check" for name in required if name not in self.env | PRODUCTION}
        return PRODUCTION | stand_ins | env


def postgres(*sql: str) -> None:
    for statement in sql:
        subprocess.run(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-q", "-c", statement],
            check=True,
            capture_output=True,
            timeout=60,
        )


def new_database(key: str) -> str:
    """A fresh, empty PostgreSQL database for one project."""
    POSTGRES.require()
    REDIS.require()
    if shutil.which("psql") is None:
        pytest.fail("psql is missing: install the postgresql-client package", pytrace=False)
    # Unique per process: several runs (and developers) may share one PostgreSQL server.
    name = f"cdp_{os.getpid()}_{zlib.crc32(key.encode()):08x}"
    drop_databases_like(name)
    postgres(f'CREATE DATABASE "{name}"')
    return name


@contextmanager
def fresh_database(key: str) -> Iterator[str]:
    """A fresh PostgreSQL database (and its test twins) for one project, dropped after."""
    name = new_database(key)
    yield name
    drop_databases_like(name)


def drop_databases_like(name: str) -> None:
    """Drop `name` and every database the project's tests derived from it (test_, tenants)."""
    postgres(*[f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)' for db in databases_like(name)])


def databases_like(name: str) -> list[str]:
    listing = subprocess.run(
        [
            "psql",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-Atc",
            f"SELECT datname FROM pg_database WHERE datname LIKE '%{name}%'",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return listing.stdout.split()


def worker_folder(name: str) -> Path:
    """A folder of this worker's own, kept across the projects it runs, removed at its exit."""
    if name not in _worker_folders:
        _worker_folders[name] = Path(tempfile.mkdtemp(prefix=f"copier-django-pro-{name}-"))
        atexit.register(shutil.rmtree, _worker_folders[name], ignore_errors=True)
    return _worker_folders[name]


_worker_folders: dict[str, Path] = {}


def suite_temp_root() -> dict[str, str]:
    """The environment that keeps a generated suite's temporary folders in this worker's own.

    When a pytest run ends it removes the older numbered folders under its root, by default
    the one all runs of this user share: there a generated suite would remove this session's
    predecessors' trees (hundreds of thousands of files, both workers at once) inside a step
    the cost report times.
    """
    return {"PYTEST_DEBUG_TEMPROOT": str(worker_folder("pytest-temp"))}


def worker_venv() -> Path:
    """This worker's virtualenv: `uv sync --locked` makes it what each project's lock says."""
    return worker_folder("venv")


def locked_packages(project: Path) -> frozenset[tuple[str, str]]:
    return packages_in_lock((project / "uv.lock").read_text(encoding="utf-8"))


@cache
def packages_in_lock(lock: str) -> frozenset[tuple[str, str]]:
    """Parsed once per distinct lock: a few dozen serve 384 combinations, at a third of a
    second each, and every project and deploy-target run reads one or two."""
    packages = tomllib.loads(lock)["package"]
    return frozenset((package["name"], package.get("version", "")) for package in packages)
