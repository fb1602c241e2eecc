"""Tier 2: every combination renders to clean, parseable, lint-free files."""

import ast
import graphlib
import hashlib
import json
import re
import subprocess
import tomllib
from functools import partial
from pathlib import Path

import pytest
import yaml

from .conftest import (
    ProjectCache,
    SharedRuns,
    combination_params,
    fingerprint,
    share,
    text_files,
)
from .matrix import Combination, resolve
from .verdicts import BANDIT, RUFF_CHECK, RUFF_FORMAT, FileCheck, Findings, Verdicts

pytestmark = pytest.mark.render

# `}}` alone is valid Python (nested dict literals), so only look for the other delimiters.
JINJA_LEFTOVER = re.compile(r"(?<!\$){{|{%|%}|{#|#}")
# Django templates (pages, and mails' .txt under templates/) share those delimiters: only
# Jinja's own syntax betrays a leftover.
JINJA_ONLY = re.compile(r"{%-|-%}|{{-|-}}|{%-?\s*(end)?raw\b")
# The template repository's own folders: a generated file that names one sends its reader to
# a path the project does not have.
TEMPLATE_REPOSITORY_PATH = re.compile(r"(?<![\w./-])(?:bench|hooks|includes)/")
# What a strict Content-Security-Policy blocks: inline scripts, styles and event handlers.
INLINE_CODE = re.compile(r"<script(?![^>]*\ssrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=", re.I)
# Files that may name a feature the project did not choose: the answers file records every
# answer, and `.env` holds a random secret key that may spell anything.
NOT_NAMING_FEATURES = {".copier-answers.yml", ".env"}


def templated_files(project: Path) -> list[Path]:
    """The text files the template writes: all but uv.lock, which uv writes after the copy."""
    return [path for path in text_files(project) if path.name != "uv.lock"]


def text_findings(project: Path, files: list[str]) -> Findings:
    """Jinja left in the output, runs of blank lines, and YAML, TOML or JSON that won't parse."""
    found: Findings = {}
    for relative in files:
        path = project / relative
        text = path.read_text(encoding="utf-8")
        django_template = path.suffix == ".html" or "templates" in path.parts
        leftover = JINJA_ONLY if django_template else JINJA_LEFTOVER
        problems = [
            f"{number}: Jinja syntax left: {line.strip()}"
            for number, line in enumerate(text.splitlines(), 1)
            if leftover.search(line)
        ]
        if path.suffix == ".jinja":
            problems.append("a .jinja file was copied verbatim")
        if re.search(r"\A\n|\n\n\n\n", text):
            problems.append("a run of blank lines or a leading blank line")
        try:
            if path.suffix in {".yml", ".yaml"}:
                list(yaml.safe_load_all(text))
            elif path.suffix == ".toml":
                tomllib.loads(text)
            elif path.suffix == ".json":
                json.loads(text)
        except (yaml.YAMLError, tomllib.TOMLDecodeError, json.JSONDecodeError) as error:
            problems.append(f"does not parse: {error}")
        if problems:
            found[relative] = "; ".join(problems)
    return found


# The version of an in-process check is this module's source.
TEXT = FileCheck(
    "text", text_findings, lambda project: hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
)


@pytest.mark.parametrize("combination", combination_params())
def test_renders_clean(
    projects: ProjectCache,
    verdicts: Verdicts,
    combination: Combination,
    request: pytest.FixtureRequest,
) -> None:
    """No Jinja left, no blank-line runs, every file parses, ruff check and format clean."""
    project = projects.get(combination)
    files = templated_files(project)
    assert files, "nothing was rendered"
    python = [path for path in files if path.suffix == ".py"]
    findings = [
        f"{check.name}: {finding}"
        for check, checked in ((TEXT, files), (RUFF_CHECK, python), (RUFF_FORMAT, python))
        for finding in verdicts.reported(
            request.node.user_properties, check, project, checked, combination.id
        )
    ]
    assert not findings, "\n".join(findings)


@pytest.mark.parametrize("combination", combination_params())
def test_bandit_finds_nothing(
    projects: ProjectCache,
    verdicts: Verdicts,
    combination: Combination,
    request: pytest.FixtureRequest,
) -> None:
    """Bandit, with the project's own [tool.bandit] settings; a finding needs a justified nosec."""
    project = projects.get(combination)
    python = [path for path in templated_files(project) if path.suffix == ".py"]
    properties = request.node.user_properties
    findings = verdicts.reported(properties, BANDIT, project, python, combination.id)
    assert not findings, "bandit:\n" + "\n".join(findings)


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
    files = templated_files(project)
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
    # Nothing but the answers file may mention htmx.
    mentions = [
        str(path.relative_to(project))
        for path in [*files, project / "uv.lock"]
        if path.name not in NOT_NAMING_FEATURES
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
    words = re.compile(r"celery|kombu|\bnotifications?\b", re.I)
    mentions = [
        str(path.relative_to(project))
        for path in text_files(project)
        if path.name not in NOT_NAMING_FEATURES
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
    # uvicorn's standard extras bring a websocket library to every ASGI project, so the lock
    # is searched for Channels' packages only.
    packages = re.compile(r'^name = "(channels|channels-redis|daphne)"$', re.M)
    mentions = [
        str(path.relative_to(project))
        for path in templated_files(project)
        if path.name not in NOT_NAMING_FEATURES
        and words.search(f"{path.relative_to(project)}\n{path.read_text(encoding='utf-8')}")
    ]
    if packages.search((project / "uv.lock").read_text(encoding="utf-8")):
        mentions.append("uv.lock")
    assert not mentions, f"Channels appears in a project that did not choose it: {mentions}"


@pytest.mark.parametrize("combination", combination_params())
def test_files_name_no_path_of_the_template_repository(
    projects: ProjectCache, combination: Combination
) -> None:
    project = projects.get(combination)
    mentions = [
        f"{path.relative_to(project)}: {match.group(0)}"
        for path in templated_files(project)
        for match in TEMPLATE_REPOSITORY_PATH.finditer(path.read_text(encoding="utf-8"))
    ]
    assert not mentions, "paths of the template repository, not the project's:\n" + "\n".join(
        mentions
    )


def app_imports(package: Path) -> dict[str, set[str]]:
    """Which of the package's other apps each app's modules import (its tests aside)."""
    graph: dict[str, set[str]] = {}
    for path in package.rglob("*.py"):
        parts = path.relative_to(package).parts
        if len(parts) < 2 or "tests" in parts:
            continue
        app = parts[0]
        modules: list[str] = []
        for node in ast.walk(ast.parse(path.read_bytes())):
            if isinstance(node, ast.Import):
                modules += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules.append(node.module or "")
            elif isinstance(node, ast.ImportFrom):
                # `from ..core import x` in package/app/module.py is package.core, and
                # `from .. import core` names it too.
                base = [package.name, *parts[:-1]][: len(parts) - node.level + 1]
                names = [node.module] if node.module else [a.name for a in node.names]
                modules += [".".join([*base, name]) for name in names]
        graph.setdefault(app, set()).update(
            name.split(".")[1]
            for name in modules
            if name.startswith(f"{package.name}.") and name.split(".")[1] != app
        )
    return graph


def assert_apps_depend_one_way(package: Path) -> None:
    try:
        graphlib.TopologicalSorter(app_imports(package)).prepare()
    except graphlib.CycleError as error:
        raise AssertionError(f"apps that import each other: {' -> '.join(error.args[1])}") from None


@pytest.mark.parametrize("combination", combination_params())
def test_apps_depend_one_way(
    projects: ProjectCache,
    shared_runs: SharedRuns,
    combination: Combination,
    request: pytest.FixtureRequest,
) -> None:
    """No app imports, directly or around a loop, an app that imports it.

    The layers: core, then accounts, tenants, the example domain, the optional apps; an app
    tells the apps above it what happened through signals they subscribe to.
    """
    project = projects.get(combination)
    package = project / resolve(combination.as_data())[0]["project_slug"]
    key = fingerprint(project, sorted(package.rglob("*.py")))
    check = partial(assert_apps_depend_one_way, package)
    outcome = shared_runs.run("app imports", key, combination.id, check)
    share(request, "app imports", outcome, combination.id)


def test_two_apps_that_import_each_other_are_named(tmp_path: Path) -> None:
    package = tmp_path / "shop"
    for app, source in {
        "orders": "from shop.billing.models import Invoice\n",
        "billing": "from .. import orders\n",
        "core": "from .. import core\n",
    }.items():
        (package / app / "tests").mkdir(parents=True)
        (package / app / "module.py").write_text(source)
        (package / app / "tests" / "test_it.py").write_text("from shop.orders import module\n")
    with pytest.raises(AssertionError, match=r"apps that import each other: (orders|billing) ->"):
        assert_apps_depend_one_way(package)
    (package / "billing" / "module.py").write_text("from shop.core import module\n")
    assert_apps_depend_one_way(package)
