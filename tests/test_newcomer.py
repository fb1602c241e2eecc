"""Tier 4: a newcomer follows the generated README's two commands, word for word.

One combination, copied into a temporary folder with nothing but uv: the README's first
command serves the app (on a free port instead of 8000) with no DATABASE_URL or REDIS_URL,
and its second command runs the suite, which passes above its coverage floor.
"""

from __future__ import annotations

import os
import re
import shlex
import urllib.request
from pathlib import Path

import pytest

from .conftest import generate
from .matrix import Combination, combinations, resolve
from .projects import suite_temp_root
from .servers import free_port, run_ok, serve

pytestmark = pytest.mark.e2e

# uv syncs the project's virtualenv on the first `uv run`, then the app migrates and seeds.
START_SECONDS = 180
SUITE_SECONDS = 600


def newcomer_combination() -> Combination:
    """The defaults, with a tenancy strategy that runs without PostgreSQL: the first visit."""
    return next(
        combination
        for combination in combinations()
        if resolve(combination.as_data())[0]["tenancy"] == "shared"
        and resolve(combination.as_data())[0]["use_htmx"]
    )


def two_commands(readme: str) -> list[list[str]]:
    """The shell block under "Start in two commands", each line without its comment."""
    section = readme.partition("\n## Start in two commands\n")[2].partition("\n## ")[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "the README has no command block under 'Start in two commands'"
    return [shlex.split(line, comments=True) for line in block[1].splitlines() if line.strip()]


def newcomer_env() -> dict[str, str]:
    """This machine's environment (its uv and uv cache) without a project's or a test's."""
    dropped = {"DATABASE_URL", "REDIS_URL", "VIRTUAL_ENV", "DJANGO_SETTINGS_MODULE", "PYTHONPATH"}
    return {
        key: value
        for key, value in os.environ.items()
        if key not in dropped and not key.startswith(("PYTEST_", "COV_"))
    } | suite_temp_root()


def test_the_readme_two_commands_serve_the_app_and_pass_the_suite(tmp_path: Path) -> None:
    combination = newcomer_combination()
    project = generate(tmp_path / "project", combination.as_data())
    run, test = two_commands((project / "README.md").read_text(encoding="utf-8"))
    assert run[:2] == test[:2] == ["uv", "run"], "a newcomer has nothing but uv"
    env = newcomer_env()

    port = free_port()
    log = tmp_path / "run.log"
    with serve(
        [*run, f"127.0.0.1:{port}"],
        port=port,
        cwd=project,
        env=env,
        log=log,
        start_seconds=START_SECONDS,
    ) as url:
        request = urllib.request.Request(
            f"{url}/accounts/login/", headers={"Host": f"demo.localhost:{port}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200, "the demo tenant's login page"
    assert "Demo data ready" in log.read_text(), log.read_text()[-4000:]

    output = run_ok(*test, cwd=project, env=env, timeout=SUITE_SECONDS)
    assert re.search(r"\d+ passed", output)
    assert "Required test coverage of 90" in output
