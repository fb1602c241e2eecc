"""Tier 2's verdict cache hides nothing: a defect one combination holds is reported for it alone,
and a changed byte is judged again."""

from pathlib import Path

import pytest

from .test_render import TEXT
from .verdicts import BANDIT, RUFF_CHECK, RUFF_FORMAT, Verdicts

pytestmark = pytest.mark.render

PYPROJECT = """\
[project]
name = "planted"
requires-python = ">=3.12"

[tool.ruff.lint]
select = ["F", "I"]

[tool.bandit]
exclude_dirs = ["tests"]
"""
CLEAN = "import os\n\nprint(os.sep)\n"
# An unused import (ruff), a shell command built from input (bandit), a Jinja tag left over.
PLANTED = "import os\nimport subprocess\n\nsubprocess.call(input(), shell=True)  # {% if x %}\n"


def project(root: Path, *, planted: bool) -> Path:
    (root / "app").mkdir(parents=True)
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "app" / "clean.py").write_text(CLEAN)
    if planted:
        (root / "app" / "planted.py").write_text(PLANTED)
    return root


def python_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.py"))


def test_a_defect_is_reported_for_the_combination_that_holds_it_alone(tmp_path: Path) -> None:
    verdicts = Verdicts(tmp_path / "verdicts")
    clean = project(tmp_path / "a", planted=False)
    defect = project(tmp_path / "b", planted=True)

    for check in (TEXT, RUFF_CHECK, BANDIT):
        assert verdicts.findings(check, clean, python_files(clean), "a") == []
        found = verdicts.findings(check, defect, python_files(defect), "b")
        assert len(found) == 1, (check.name, found)
        assert found[0].startswith("app/planted.py: "), found
        # The shared file was judged once, for "a": only the planted one was new to "b".
        assert verdicts.judged[check.name] == 2
    assert verdicts.findings(RUFF_FORMAT, defect, python_files(defect), "b") == []

    # "a" again: every verdict is known, nothing runs.
    assert verdicts.findings(RUFF_CHECK, clean, python_files(clean), "a") == []
    assert verdicts.judged[RUFF_CHECK.name] == 2


def test_a_changed_byte_is_judged_again(tmp_path: Path) -> None:
    verdicts = Verdicts(tmp_path / "verdicts")
    first = project(tmp_path / "a", planted=False)
    assert verdicts.findings(RUFF_CHECK, first, python_files(first), "a") == []

    second = project(tmp_path / "b", planted=False)
    (second / "app" / "clean.py").write_text(CLEAN.replace("os.sep", "os.sip"))
    found = verdicts.findings(RUFF_CHECK, second, python_files(second), "b")

    assert verdicts.judged[RUFF_CHECK.name] == 2
    assert found == [], "an attribute typo is no lint finding; the point is that it ran"


def test_a_finding_names_the_combination_that_ran_the_check(tmp_path: Path) -> None:
    verdicts = Verdicts(tmp_path / "verdicts")
    first = project(tmp_path / "a", planted=True)
    second = project(tmp_path / "b", planted=True)

    verdicts.findings(RUFF_CHECK, first, python_files(first), "a")
    found = verdicts.findings(RUFF_CHECK, second, python_files(second), "b")

    assert verdicts.judged[RUFF_CHECK.name] == 2
    assert len(found) == 1
    assert "F401" in found[0]
    assert found[0].endswith("(judged in a)")
