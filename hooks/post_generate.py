"""Finish a generated project after `copier copy` or `copier update`.

Runs inside the generated project with the interpreter that runs Copier, so it uses the
standard library only: as a task after a copy, and as a migration after an update, once
Copier has merged the user's changes. Each step is safe to repeat: an update must never
replace the secret key the project already has, and locking is a no-op when the lock
already matches.
"""

from __future__ import annotations

import argparse
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

ENV_FILE = Path(".env")
ENV_EXAMPLE = Path(".env.example")
PYPROJECT = Path("pyproject.toml")
CONFLICT_MARKER = re.compile(r"^(<<<<<<<|>>>>>>>)( |$)", re.MULTILINE)


def write_env_file() -> None:
    """Create `.env` from `.env.example` with a fresh secret key, once.

    The key lives only in this git-ignored file: never in the answers file, never in git,
    and never regenerated, so sessions and signed data survive `copier update`.
    """
    if ENV_FILE.exists():
        return
    example = ENV_EXAMPLE.read_text(encoding="utf-8") if ENV_EXAMPLE.exists() else ""
    secret_key = secrets.token_urlsafe(50)
    lines = [
        f"DJANGO_SECRET_KEY={secret_key}" if line.startswith("DJANGO_SECRET_KEY=") else line
        for line in example.splitlines()
    ]
    if not any(line.startswith("DJANGO_SECRET_KEY=") for line in lines):
        lines.insert(0, f"DJANGO_SECRET_KEY={secret_key}")
    ENV_FILE.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ENV_FILE.chmod(0o600)


def lock_dependencies() -> None:
    """Write `uv.lock` when it is missing or no longer matches `pyproject.toml`.

    The generated pyproject sets uv's `exclude-newer` to the template release's date, so a
    new project starts from the versions the template's own CI tested, not from whatever
    was published on the day of the copy.
    """
    if PYPROJECT.exists() and CONFLICT_MARKER.search(PYPROJECT.read_text(encoding="utf-8")):
        print("pyproject.toml has merge-conflict markers: resolve them, then run `uv lock`.")
        return
    uv = shutil.which("uv")
    if uv is None:
        print("uv is not installed: install it (https://docs.astral.sh/uv/) and run `uv lock`.")
        return
    lock_is_current = (
        Path("uv.lock").exists()
        and subprocess.run([uv, "lock", "--check"], capture_output=True, check=False).returncode
        == 0
    )
    if lock_is_current:
        return
    subprocess.run([uv, "lock", "--quiet"], check=True)


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    write_env_file()
    lock_dependencies()
    return 0


if __name__ == "__main__":
    sys.exit(main())
