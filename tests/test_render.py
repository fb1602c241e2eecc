"""Tier 2: every combination renders to clean, parseable, lint-free files."""

import json
import re
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

from .conftest import ProjectCache, combination_params
from .matrix import Combination, resolve

pytestmark = pytest.mark.render

# `}}` alone is valid Python (nested dict literals), so only look for the other delimiters.
JINJA_LEFTOVER = re.compile(r"(?<!\$){{|{%|%}|{#|#}")
# Django templates (.html) share those delimiters: only Jinja's own syntax betrays a leftover.
JINJA_ONLY = re.compile(r"{%-|-%}|{{-|-}}|{%-?\s*(end)?raw\b")
# What a strict Content-Security-Policy blocks: inline scripts, styles and event handlers.
INLINE_CODE = re.compile(r"<script(?![^>]*\ssrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=", re.I)
# Binary files, and the SQLite databases a project run may leave behind.
BINARY_SUFFIXES = {".png", ".ico", ".woff2", ".gz", ".br", ".sqlite3"}


def text_files(project: Path) -> list[Path]:
    ignored = {".venv", ".git", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
    return [
        path
        for path in sorted(project.rglob("*"))
        if path.is_file()
        and not ignored.intersection(path.relative_to(project).parts)
        and path.suffix not in BINARY_SUFFIXES
        and path.name != "uv.lock"
    ]


@pytest.mark.parametrize("combination", combination_params())
def test_renders_clean(projects: ProjectCache, combination: Combination) -> None:
    project = projects.get(combination)
    files = text_files(project)
    assert files, "nothing was rendered"

    leftovers = [
        f"{path.relative_to(project)}:{number}: {line.strip()}"
        for path in files
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if (JINJA_ONLY if path.suffix == ".html" else JINJA_LEFTOVER).search(line)
    ]
    assert not leftovers, "Jinja syntax left in the output:\n" + "\n".join(leftovers)
    assert not [p for p in files if p.suffix == ".jinja"], "a .jinja file was copied verbatim"

    soup = [
        str(path.relative_to(project))
        for path in files
        if re.search(r"\A\n|\n\n\n\n", path.read_text(encoding="utf-8"))
    ]
    assert not soup, f"runs of blank lines or a leading blank line in: {soup}"

    for path in files:
        text = path.read_text(encoding="utf-8")
        if path.suffix in {".yml", ".yaml"}:
            list(yaml.safe_load_all(text))
        elif path.suffix == ".toml":
            tomllib.loads(text)
        elif path.suffix == ".json":
            json.loads(text)

    for command in (["ruff", "check", "--no-cache"], ["ruff", "format", "--check", "--no-cache"]):
        result = subprocess.run(command, cwd=project, capture_output=True, text=True, check=False)
        assert result.returncode == 0, f"{' '.join(command)}:\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize("combination", combination_params())
def test_bandit_finds_nothing(projects: ProjectCache, combination: Combination) -> None:
    """Bandit, with the project's own [tool.bandit] settings; a finding needs a justified nosec."""
    project = projects.get(combination)
    result = subprocess.run(
        ["bandit", "--configfile", "pyproject.toml", "--recursive", "--quiet", "."],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"bandit:\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize("combination", combination_params())
def test_secret_key_and_lock(projects: ProjectCache, combination: Combination) -> None:
    project = projects.get(combination)
    secret = re.search(r"^DJANGO_SECRET_KEY=(\S{50,})$", (project / ".env").read_text(), re.M)
    assert secret, "the copy task did not write a secret key into .env"
    assert ".env" in (project / ".gitignore").read_text().splitlines()
    assert secret.group(1) not in (project / ".copier-answers.yml").read_text()

    lock = subprocess.run(
        ["uv", "lock", "--check"], cwd=project, capture_output=True, text=True, check=False
    )
    assert lock.returncode == 0, f"uv.lock does not match pyproject.toml:\n{lock.stderr}"


@pytest.mark.parametrize("combination", combination_params())
def test_pages_have_no_inline_code_and_htmx_only_when_chosen(
    projects: ProjectCache, combination: Combination
) -> None:
    project = projects.get(combination)
    files = text_files(project)
    pages = [path for path in files if path.suffix == ".html"]
    inline = [
        f"{path.relative_to(project)}: {match.group(0)}"
        for path in pages
        for match in INLINE_CODE.finditer(path.read_text(encoding="utf-8"))
    ]
    assert not inline, "inline code a strict CSP would block:\n" + "\n".join(inline)

    if resolve(combination.as_data())[0]["use_htmx"]:
        base = (project / "templates" / "base.html").read_text(encoding="utf-8")
        assert '<body hx-headers=\'{"X-CSRFToken": "{{ csrf_token }}"}\'>' in base
        assert "{% htmx_script %}" in base
        assert not [p for p in pages if "{% load partials" in p.read_text(encoding="utf-8")], (
            "partials are built in (Django 6) or builtins (5.2): loading them breaks one or other"
        )
        return
    # The answers file records the answer itself; nothing else may mention htmx.
    mentions = [
        str(path.relative_to(project))
        for path in [*files, project / "uv.lock"]
        if path.name != ".copier-answers.yml"
        and "htmx" in f"{path.relative_to(project)}\n{path.read_text(encoding='utf-8')}".lower()
    ]
    assert not mentions, f"htmx appears in a project that did not choose it: {mentions}"
    assert not (project / "templates").exists(), "an API-first project has no page layout"


@pytest.mark.parametrize("combination", combination_params())
def test_celery_only_when_chosen(projects: ProjectCache, combination: Combination) -> None:
    """Without Celery nothing names it, its broker library or the app only it needs."""
    if resolve(combination.as_data())[0]["use_celery"]:
        return
    project = projects.get(combination)
    words = re.compile(r"celery|kombu|notification", re.I)
    # The answers file records the answer itself.
    mentions = [
        str(path.relative_to(project))
        for path in [*text_files(project), project / "uv.lock"]
        if path.name != ".copier-answers.yml"
        and words.search(f"{path.relative_to(project)}\n{path.read_text(encoding='utf-8')}")
    ]
    assert not mentions, f"Celery appears in a project that did not choose it: {mentions}"


@pytest.mark.parametrize("combination", combination_params())
def test_channels_only_when_chosen(projects: ProjectCache, combination: Combination) -> None:
    """Without the live feed (wsgi, or use_channels=false) nothing names websockets or Channels."""
    if resolve(combination.as_data())[0]["channels"]:
        return
    project = projects.get(combination)
    words = re.compile(r"channels|daphne|websocket|consumer|routing\.py", re.I)
    # The answers file records the answer itself; uvicorn's standard extras bring a websocket
    # library to every ASGI project, so the lock is searched for Channels' packages only.
    packages = re.compile(r'^name = "(channels|channels-redis|daphne)"$', re.M)
    mentions = [
        str(path.relative_to(project))
        for path in text_files(project)
        if path.name != ".copier-answers.yml"
        and words.search(f"{path.relative_to(project)}\n{path.read_text(encoding='utf-8')}")
    ]
    if packages.search((project / "uv.lock").read_text(encoding="utf-8")):
        mentions.append("uv.lock")
    assert not mentions, f"Channels appears in a project that did not choose it: {mentions}"
