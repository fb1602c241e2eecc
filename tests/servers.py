"""A generated project's own server, started for end-to-end tests on a free 127.0.0.1 port.

And its Celery worker, and `run_ok` for the one-shot commands around them."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

START_SECONDS = 30
STOP_SECONDS = 10
WAIT_SECONDS = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(
    url: str, process: subprocess.Popen[bytes], log: Path, seconds: float = START_SECONDS
) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited:\n{log.read_text()[-3000:]}", pytrace=False)
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    pytest.fail(
        f"the server did not answer {url} in {seconds} s:\n{log.read_text()[-3000:]}",
        pytrace=False,
    )


@contextmanager
def background(
    command: Sequence[str], *, cwd: Path, env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `command` until the block ends, its output in `log`.

    The command leads a process group of its own, stopped whole (workers, an autoreloader's
    child) with SIGTERM, then SIGKILL after STOP_SECONDS; a group the block already ended is
    left as it is.
    """
    with log.open("wb") as output:
        process = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        stop_group(process)


def stop_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_SECONDS)


@contextmanager
def serve(
    command: Sequence[str],
    *,
    port: int,
    cwd: Path,
    env: dict[str, str],
    log: Path,
    start_seconds: float = START_SECONDS,
) -> Iterator[str]:
    """Run `command` (listening on 127.0.0.1:`port`) until the block ends; yield its base URL.

    Ready once /healthz answers 200; stopped like any `background` command. Its log's path is
    printed for a failing test's report.
    """
    try:
        with background(command, cwd=cwd, env=env, log=log) as process:
            wait_until_up(f"http://127.0.0.1:{port}/healthz", process, log, start_seconds)
            yield f"http://127.0.0.1:{port}"
    finally:
        print(f"server log: {log}")


def run_ok(
    *command: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300
) -> str:
    """Run `command` to its end; fail with the tail of its output unless it succeeds."""
    result = subprocess.run(
        command,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"`{shlex.join(command)}` failed:\n{output[-6000:]}"
    return output


@contextmanager
def celery_worker(cwd: Path, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A project's Celery worker as production runs it (prefork, one child), until the block
    ends; ready once it says so."""
    command = [".venv/bin/celery", "--app", "config.celery:app", "worker", "--pool", "prefork"]
    command += ["--concurrency", "1", "--loglevel", "INFO", "--without-heartbeat"]
    command += ["--without-mingle", "--without-gossip"]
    with background(command, cwd=cwd, env=env, log=log) as process:
        eventually(lambda: b"ready." in log.read_bytes(), "the worker is ready", process, log)
        yield process


def eventually(
    condition: Callable[[], bool],
    what: str,
    process: subprocess.Popen[bytes],
    log: Path,
    seconds: float = WAIT_SECONDS,
) -> float:
    """Wait, at most `seconds`, for `condition` while `process` runs; return the time it took."""
    started = time.monotonic()
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"{process.args} exited:\n{log.read_text()[-3000:]}", pytrace=False)
        elapsed = time.monotonic() - started
        assert elapsed < seconds, f"{what} within {seconds} s:\n{log.read_text()[-3000:]}"
        time.sleep(0.1)
    return time.monotonic() - started
