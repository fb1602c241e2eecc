"""Tier 2, the generated repository's own tooling: README, git hooks, whitespace."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

from .conftest import ProjectCache, combination_params
from .matrix import Combination
from .settings_env import settings_env
from .test_render import templated_files

pytestmark = pytest.mark.render

# `| `NAME` |` or `| `NAME`, `OTHER` |` in the first column of the README's variables table.
TABLE_ROW = re.compile(r"^\| (`[A-Z][A-Z0-9_]*`(?:, `[A-Z][A-Z0-9_]*`)*) \|", re.M)


def readme_env(project: Path) -> set[str]:
    readme = (project / "README.md").read_text(encoding="utf-8")
    section = readme.partition("\n## Environment variables\n")[2].partition("\n## ")[0]
    assert section, "the README has no 'Environment variables' section"
    return {name.strip("`") for row in TABLE_ROW.findall(section) for name in row.split(", ")}


def dev_dependencies(project: Path) -> set[str]:
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    return {
        re.split(r"[\[<>=~; ]", requirement, maxsplit=1)[0]
        for requirement in pyproject["dependency-groups"]["dev"]
    }


@pytest.mark.parametrize("combination", combination_params())
def test_readme_lists_every_environment_variable_the_settings_read(
    projects: ProjectCache, combination: Combination
) -> None:
    project = projects.get(combination)
    read, listed = settings_env(project), readme_env(project)
    assert {"DJANGO_SECRET_KEY", "DATABASE_URL", "REDIS_URL"} <= read
    assert not read - listed, f"the README's table lacks {sorted(read - listed)}"
    assert not listed - read, f"the README's table lists unread {sorted(listed - read)}"


# The executable each local hook runs, and the dev dependency that installs it.
HOOK_PACKAGES = {
    "ruff": "ruff",
    "django-upgrade": "django-upgrade",
    "djlint": "djlint",
    "end-of-file-fixer": "pre-commit-hooks",
    "trailing-whitespace-fixer": "pre-commit-hooks",
}


@pytest.mark.parametrize("combination", combination_params())
def test_git_hooks_are_local_and_installed_by_uv_sync(
    projects: ProjectCache, combination: Combination
) -> None:
    """Every hook runs a tool uv.lock pins, with no Jinja in the file (pre-commit autoupdate)."""
    project = projects.get(combination)
    config = yaml.safe_load((project / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    template = Path(__file__).parents[1] / "template" / ".pre-commit-config.yaml"
    assert template.exists(), "the hooks file is copied verbatim, never rendered"
    assert [repo["repo"] for repo in config["repos"]] == ["local"]
    hooks = config["repos"][0]["hooks"]
    ids = {hook["id"] for hook in hooks}
    assert {"check-merge-conflict", "forbid-rej-files", "django-upgrade", "djlint"} <= ids
    assert {"ruff-check", "ruff-format", "end-of-file-fixer", "trailing-whitespace"} <= ids
    dev = dev_dependencies(project)
    for hook in hooks:
        if hook["language"] != "system":
            continue
        words = hook["entry"].split()
        assert words[:3] == ["uv", "run", "--frozen"], f"{hook['id']} runs outside uv.lock"
        assert HOOK_PACKAGES[words[3]] in dev, f"{hook['id']}: {words[3]} is not a dev dependency"
    assert "--target-version" not in (project / ".pre-commit-config.yaml").read_text(), (
        "django-upgrade reads the Django version from pyproject.toml"
    )


def whitespace_hooks_would_change(path: Path) -> bool:
    """end-of-file-fixer and trailing-whitespace-fixer (which keeps Markdown's two-space breaks)."""
    text = path.read_text(encoding="utf-8")
    if not text:
        return False
    if path.suffix == ".md":
        text = re.sub(r"(?<=\S)  $", "", text, flags=re.M)
    return (
        not text.endswith("\n") or text.endswith("\n\n") or bool(re.search(r"[ \t]$", text, re.M))
    )


@pytest.mark.parametrize("combination", combination_params())
def test_files_end_with_one_newline_and_no_trailing_whitespace(
    projects: ProjectCache, combination: Combination
) -> None:
    """What the whitespace hooks would change on the project's first commit: nothing."""
    project = projects.get(combination)
    bad = [
        str(path.relative_to(project))
        for path in templated_files(project)
        if whitespace_hooks_would_change(path)
    ]
    assert not bad, f"files the whitespace hooks would change: {bad}"
