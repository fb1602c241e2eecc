"""Checks that judge files, run once per distinct input.

A file check's verdict depends only on what it reads: the file's path and bytes, and the
check's version and configuration. The 384 combinations render mostly byte-identical files,
so each input is judged once in a run, by whichever combination holds it first (on any xdist
worker), and every combination that holds it gets that verdict: a finding fails each of them,
naming the combination that ran the check. Copier's rendering still runs for every one.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

# path (relative to the project, as posix) -> what is wrong with it
Findings = dict[str, str]


@dataclass(frozen=True)
class Verdict:
    owner: str  # the combination whose test ran the check
    finding: str  # empty when the file passed


@dataclass(frozen=True)
class FileCheck:
    """A check whose verdict on each file depends on that file and `config` alone."""

    name: str
    # Judges `files` (relative paths) of the project at the given root.
    judge: Callable[[Path, list[str]], Findings]
    # What else the verdict depends on: the tool's version and the project's settings for it.
    config: Callable[[Path], str]


class Verdicts:
    """Verdicts by input, in a directory every xdist worker of the run shares."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.judged: dict[str, int] = {}  # check -> files this process judged itself

    def findings(
        self, check: FileCheck, project: Path, files: Sequence[Path], owner: str
    ) -> list[str]:
        """The findings on `files`, judging only those whose input has no verdict yet."""
        config = check.config(project)
        keys = {
            file.relative_to(project).as_posix(): self.key(check, config, project, file)
            for file in files
        }
        pending = [relative for relative, key in keys.items() if not self.path(key).exists()]
        if pending:
            found = check.judge(project, pending)
            for relative in pending:
                self.record(keys[relative], Verdict(owner, found.get(relative, "")))
            self.judged[check.name] = self.judged.get(check.name, 0) + len(pending)
        verdicts = {relative: self.read(key) for relative, key in keys.items()}
        return [
            f"{relative}: {verdict.finding}"
            + ("" if verdict.owner == owner else f" (judged in {verdict.owner})")
            for relative, verdict in sorted(verdicts.items())
            if verdict.finding
        ]

    def reported(
        self,
        properties: list[tuple[str, object]],
        check: FileCheck,
        project: Path,
        files: Sequence[Path],
        owner: str,
    ) -> list[str]:
        """`findings`, and how many files it judged and served, for the run's cost report."""
        before = self.judged.get(check.name, 0)
        found = self.findings(check, project, files, owner)
        properties.append((f"judged {check.name}", self.judged.get(check.name, 0) - before))
        properties.append((f"served {check.name}", len(files)))
        return found

    @staticmethod
    def key(check: FileCheck, config: str, project: Path, file: Path) -> str:
        digest = hashlib.sha256(f"{check.name}\0{config}\0".encode())
        digest.update(f"{file.relative_to(project).as_posix()}\0".encode())
        digest.update(file.read_bytes())
        return digest.hexdigest()

    def path(self, key: str) -> Path:
        return self.root / f"{key}.json"

    def record(self, key: str, verdict: Verdict) -> None:
        # Written whole, then renamed: a reader on another worker never sees half of it.
        temporary = self.root / f"{key}.{os.getpid()}.tmp"
        temporary.write_text(json.dumps(verdict.__dict__))
        temporary.replace(self.path(key))

    def read(self, key: str) -> Verdict:
        return Verdict(**json.loads(self.path(key).read_text()))


# --- The checks -------------------------------------------------------------------------------


@cache
def version(*command: str) -> str:
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()


def tool_table(project: Path, tool: str) -> str:
    """The project's `[tool.<tool>]` settings and Python floor: all a linter reads there."""
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    return json.dumps(
        [pyproject.get("tool", {}).get(tool), pyproject.get("project", {}).get("requires-python")],
        sort_keys=True,
    )


def run_tool(project: Path, command: Sequence[str], ok: set[int]) -> str:
    """The tool's standard output; its exit status must be one that `ok` expects."""
    result = subprocess.run(
        [*command], cwd=project, capture_output=True, text=True, check=False, timeout=300
    )
    output = result.stdout + result.stderr
    assert result.returncode in ok, f"`{' '.join(command[:3])} ...` failed:\n{output}"
    return result.stdout


def ruff_check(project: Path, files: list[str]) -> Findings:
    command = ["ruff", "check", "--no-cache", "--force-exclude", "--output-format=json", *files]
    result = run_tool(project, command, ok={0, 1})
    found: Findings = {}
    for item in json.loads(result or "[]"):
        relative = Path(item["filename"]).resolve().relative_to(project.resolve()).as_posix()
        line = f"{item['location']['row']}: {item['code']} {item['message']}"
        found[relative] = f"{found[relative]}; {line}" if relative in found else line
    return found


def ruff_format(project: Path, files: list[str]) -> Findings:
    command = ["ruff", "format", "--check", "--no-cache", "--force-exclude", *files]
    result = run_tool(project, command, ok={0, 1})
    unformatted = re.findall(r"^Would reformat: (.+)$", result, re.M)
    return {Path(name).as_posix(): "ruff format would change it" for name in unformatted}


def bandit(project: Path, files: list[str]) -> Findings:
    command = ["bandit", "--configfile", "pyproject.toml", "--quiet", "--format", "json", *files]
    report = json.loads(run_tool(project, command, ok={0, 1}))
    assert not report["errors"], f"bandit could not read: {report['errors']}"
    found: Findings = {}
    for issue in report["results"]:
        relative = Path(issue["filename"]).as_posix().removeprefix("./")
        line = f"{issue['line_number']}: {issue['test_id']} {issue['issue_text']}"
        found[relative] = f"{found[relative]}; {line}" if relative in found else line
    return found


RUFF_CHECK = FileCheck(
    "ruff check",
    ruff_check,
    lambda project: version("ruff", "--version") + tool_table(project, "ruff"),
)
RUFF_FORMAT = FileCheck(
    "ruff format",
    ruff_format,
    lambda project: version("ruff", "--version") + tool_table(project, "ruff"),
)
BANDIT = FileCheck(
    "bandit", bandit, lambda project: version("bandit", "--version") + tool_table(project, "bandit")
)
