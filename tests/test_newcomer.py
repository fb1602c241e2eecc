"""Tier 4: a newcomer follows the generated README's two commands, word for word.

One combination, copied into a temporary folder with nothing but uv: the README's first
command serves the app (on a free port instead of 8000) with no DATABASE_URL or REDIS_URL,
and its second command runs the suite, which passes above its coverage floor.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from .conftest import generate
from .matrix import Combination, combinations, resolve
from .test_e2e_browser import free_port

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
    }


def wait_for_health(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the app exited:\n{log.read_text()[-4000:]}", pytrace=False)
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"{url} did not answer in {START_SECONDS} s:\n{log.read_text()[-4000:]}")


def stop(server: subprocess.Popen[bytes]) -> None:
    """End the server, and the autoreloader's child, by the process group it leads."""
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=15)


def test_the_readme_two_commands_serve_the_app_and_pass_the_suite(tmp_path: Path) -> None:
    combination = newcomer_combination()
    project = generate(tmp_path / "project", combination.as_data())
    run, test = two_commands((project / "README.md").read_text(encoding="utf-8"))
    assert run[:2] == test[:2] == ["uv", "run"], "a newcomer has nothing but uv"
    env = newcomer_env()

    port = free_port()
    log = tmp_path / "run.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [*run, f"127.0.0.1:{port}"],
            cwd=project,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for_health(f"http://127.0.0.1:{port}/healthz", server, log)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/accounts/login/", headers={"Host": f"demo.localhost:{port}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200, "the demo tenant's login page"
    finally:
        stop(server)
    assert "Demo data ready" in log.read_text(), log.read_text()[-4000:]

    suite = subprocess.run(
        test,
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=SUITE_SECONDS,
        check=False,
    )
    output = suite.stdout + suite.stderr
    assert suite.returncode == 0, output[-6000:]
    assert re.search(r"\d+ passed", output)
    assert "Required test coverage of 90" in output
