"""The template's releases: the version in pyproject.toml, CHANGELOG.md and releases.toml."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass

from packaging.version import Version

from .matrix import ROOT

CHANGELOG = ROOT / "CHANGELOG.md"
RELEASES = ROOT / "releases.toml"
RELEASE_HEADING = re.compile(r"^## \[(?P<version>[^\]]+)\] - (?P<date>\d{4}-\d{2}-\d{2})$", re.M)


@dataclass(frozen=True)
class Release:
    version: Version
    commit: str

    @property
    def tag(self) -> str:
        return f"v{self.version}"


def project_version() -> Version:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return Version(pyproject["project"]["version"])


def changelog_versions() -> list[Version]:
    """The released versions CHANGELOG.md describes, in the order it lists them."""
    return [Version(m["version"]) for m in RELEASE_HEADING.finditer(CHANGELOG.read_text())]


def recorded_releases() -> list[Release]:
    """Every release in releases.toml, oldest first."""
    releases = tomllib.loads(RELEASES.read_text(encoding="utf-8"))["releases"]
    return sorted(
        (Release(Version(version), commit) for version, commit in releases.items()),
        key=lambda release: release.version,
    )


def last_release() -> Release:
    return recorded_releases()[-1]
