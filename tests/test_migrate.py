"""hooks/migrate.py `move`: a renamed file keeps the user's edits, merged with the release's."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

from .matrix import ROOT

BASE = "one\ntwo\nthree\nfour\nfive\n"


def load_migrate() -> ModuleType:
    spec = importlib.util.spec_from_file_location("migrate", ROOT / "hooks" / "migrate.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


migrate = load_migrate()


def git(cwd: Path, *arguments: str) -> None:
    identity = ["-c", "user.name=Test", "-c", "user.email=test@example.com"]
    subprocess.run(["git", *identity, *arguments], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose last commit holds the user's `config/api.py`, as before an update."""
    monkeypatch.chdir(tmp_path)
    git(tmp_path, "init", "-q")
    (tmp_path / "config").mkdir()
    (tmp_path / "config/api.py").write_text(BASE.replace("two", "two, edited by the user"))
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "user's project")
    return tmp_path


def update_renders(project: Path, new: str) -> None:
    """What Copier leaves: the old file removed, the new one rendered by the new release."""
    (project / "config/api.py").unlink()
    (project / "config/api_router.py").write_text(new)


def test_user_and_release_edits_merge(project: Path) -> None:
    update_renders(project, BASE.replace("four", "four, edited by the release"))
    migrate.move("config/api.py", "config/api_router.py", BASE)
    merged = (project / "config/api_router.py").read_text()
    assert merged == "one\ntwo, edited by the user\nthree\nfour, edited by the release\nfive\n"
    assert not (project / "config/api.py").exists()


def test_a_line_both_changed_is_an_inline_conflict(project: Path) -> None:
    update_renders(project, BASE.replace("two", "two, edited by the release"))
    migrate.move("config/api.py", "config/api_router.py", BASE)
    merged = (project / "config/api_router.py").read_text()
    assert "<<<<<<< before updating\ntwo, edited by the user\n=======\n" in merged
    assert "two, edited by the release\n>>>>>>> after updating\n" in merged


def test_a_file_the_user_deleted_stays_deleted(project: Path) -> None:
    git(project, "rm", "-q", "config/api.py")
    git(project, "commit", "-q", "-m", "no API")
    (project / "config").mkdir(exist_ok=True)
    (project / "config/api_router.py").write_text(BASE)
    migrate.move("config/api.py", "config/api_router.py", BASE)
    assert not (project / "config/api_router.py").exists()


def test_nothing_happens_once_the_user_has_the_new_file(project: Path) -> None:
    git(project, "mv", "config/api.py", "config/api_router.py")
    git(project, "commit", "-q", "-m", "moved by hand")
    (project / "config/api_router.py").write_text("the user's\n")
    migrate.move("config/api.py", "config/api_router.py", BASE)
    assert (project / "config/api_router.py").read_text() == "the user's\n"


def test_take_release_settles_only_conflicts_over_generated_text(project: Path) -> None:
    readme = project / "README.md"
    readme.write_text(
        "# Title\n"
        "<<<<<<< before updating\n[template](/tmp/render-1).\n=======\nThe template.\n"
        ">>>>>>> after updating\n"
        "<<<<<<< before updating\nThe user's line.\n=======\nThe release's line.\n"
        ">>>>>>> after updating\n"
    )
    migrate.take_release("README.md", r"\[template\]\(.*\)\.\n")
    assert readme.read_text() == (
        "# Title\nThe template.\n"
        "<<<<<<< before updating\nThe user's line.\n=======\nThe release's line.\n"
        ">>>>>>> after updating\n"
    )


def test_keep_puts_files_back_as_they_were(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / ".env").write_text("DJANGO_SECRET_KEY=the project's own\n")
    migrate.keep([".env", "uv.lock"], "before")
    (project / ".env").unlink()  # what Copier does to a file only its old render had
    (project / "uv.lock").write_text("written during the update\n")
    migrate.keep([".env", "uv.lock"], "after")
    assert (project / ".env").read_text() == "DJANGO_SECRET_KEY=the project's own\n"
    assert (project / "uv.lock").read_text() == "written during the update\n"
    assert not (project / ".git/copier-kept").exists()
