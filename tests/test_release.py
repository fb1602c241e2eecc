"""The version, the changelog and the recorded releases agree; migrations are well formed."""

import re
import subprocess

import pytest
import yaml
from packaging.version import Version

from .matrix import COPIER_YML, ROOT
from .releases import CHANGELOG, changelog_versions, project_version, recorded_releases

pytestmark = pytest.mark.questions


def test_changelog_and_releases_agree_with_the_version() -> None:
    version = project_version()
    listed = changelog_versions()
    assert listed, "CHANGELOG.md lists no release as '## [X.Y.Z] - YYYY-MM-DD'"
    assert listed[0] == version, f"CHANGELOG.md's newest release is {listed[0]}, not {version}"
    assert listed == sorted(listed, reverse=True), "CHANGELOG.md must list newest first"
    assert CHANGELOG.read_text().index("## [Unreleased]") < CHANGELOG.read_text().index(
        f"## [{listed[0]}]"
    ), "CHANGELOG.md opens with an [Unreleased] section"

    releases = recorded_releases()
    assert releases[-1].version == version, (
        f"releases.toml's newest release is {releases[-1].version}, not {version}: record the"
        " release commit (CONTRIBUTING.md: Release)"
    )
    assert {r.version for r in releases} <= set(listed), "a recorded release has no changelog"
    for release in releases:
        assert re.fullmatch(r"[0-9a-f]{40}", release.commit), f"{release}: not a full commit id"


def test_recorded_commits_hold_their_versions() -> None:
    """Each recorded commit is in this checkout's history and carries its version."""
    for release in recorded_releases():
        shown = subprocess.run(
            ["git", "show", f"{release.commit}:pyproject.toml"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        assert shown.returncode == 0, (
            f"commit {release.commit} of {release.version} is not in this checkout: fetch the"
            f" full history (git fetch --unshallow).\n{shown.stderr}"
        )
        assert f'version = "{release.version}"' in shown.stdout


def test_migrations_run_hooks_and_name_canonical_versions() -> None:
    migrations = yaml.safe_load(COPIER_YML.read_text())["_migrations"]
    assert migrations, "copier.yml has no _migrations"
    for migration in migrations:
        script = migration["command"][1].replace("{{ _copier_conf.src_path }}/", "")
        assert script.startswith("hooks/"), f"{script}: migrations run scripts in hooks/"
        assert (ROOT / script).is_file(), f"{script}: no such hook"
        if "version" in migration:
            written = migration["version"]
            assert str(Version(written)) == written, f"{written}: write it as X.Y.Z"
