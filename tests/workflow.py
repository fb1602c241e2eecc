"""A generated project's CI workflow, run here as GitHub Actions would run it.

GitHub checks out what git holds and runs the job's steps with the job's environment. The
project tier does the same from a clean clone of the project's first commit (no `.env`, no
file git ignores), reading the steps from the rendered `.github/workflows/ci.yml`: a step
added there runs here too. The two actions the job uses are what this machine already is
(a checkout, uv on PATH); a step that needs the internet is named with its reason and not run.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import yaml

from .servers import run_ok

WORKFLOW = ".github/workflows/ci.yml"
JOB = "test"
# Actions and what stands for them here: the clone is the checkout, and uv is on PATH.
KNOWN_ACTIONS = ("actions/checkout@", "astral-sh/setup-uv@")
# Steps this machine cannot run (no internet but the package registries' files uv caches).
NEEDS_INTERNET = {
    "Audit dependencies": "pip-audit asks the PyPI advisory database online",
}
# GitHub's shell for `run:` steps.
SHELL = ("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c")
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "CI",
    "GIT_AUTHOR_EMAIL": "ci@example.com",
    "GIT_COMMITTER_NAME": "CI",
    "GIT_COMMITTER_EMAIL": "ci@example.com",
}


@dataclass(frozen=True)
class Step:
    name: str
    run: str
    env: dict[str, str] = field(default_factory=dict)

    def runs(self, word: str) -> bool:
        return word in self.run


@dataclass(frozen=True)
class Workflow:
    env: dict[str, str]
    steps: list[Step]
    skipped: dict[str, str]  # step name -> why it does not run here


def read_workflow(project: Path) -> Workflow:
    """The test job's environment and `run:` steps, less those that need the internet."""
    spec = yaml.safe_load((project / WORKFLOW).read_text(encoding="utf-8"))
    job = spec["jobs"][JOB]
    steps: list[Step] = []
    skipped: dict[str, str] = {}
    for step in job["steps"]:
        if "uses" in step:
            assert str(step["uses"]).startswith(KNOWN_ACTIONS), (
                f"{WORKFLOW} uses {step['uses']}: teach tests/workflow.py what stands for it"
            )
            continue
        name = str(step.get("name", step["run"]))
        if name in NEEDS_INTERNET:
            skipped[name] = NEEDS_INTERNET[name]
            continue
        env = {key: str(value) for key, value in step.get("env", {}).items()}
        steps.append(Step(name, str(step["run"]), env))
    missing = set(NEEDS_INTERNET) - set(skipped)
    assert not missing, f"{WORKFLOW} has no step named {missing}: update NEEDS_INTERNET"
    job_env = {key: str(value) for key, value in job.get("env", {}).items()}
    return Workflow(job_env, steps, skipped)


def on_services(env: dict[str, str], database: str, redis_db: int) -> dict[str, str]:
    """The workflow's service URLs, pointed at this run's own database and Redis number.

    The job's services are its own on GitHub; here several runs share one PostgreSQL and one
    Redis, so only the database name and number change: user, host and port stay.
    """
    paths = {"DATABASE_URL": f"/{database}", "REDIS_URL": f"/{redis_db}"}
    return env | {
        name: urlunsplit(urlsplit(env[name])._replace(path=path))
        for name, path in paths.items()
        if name in env
    }


def clean_clone(project: Path) -> Path:
    """A clone of the project's first commit, beside it: what a CI checkout holds."""
    identity = os.environ | GIT_IDENTITY
    if not (project / ".git").exists():
        for command in (
            ["git", "init", "--quiet"],
            ["git", "add", "--all"],
            ["git", "commit", "--quiet", "--no-verify", "--message", "Initial commit"],
        ):
            subprocess.run(command, cwd=project, env=identity, check=True, capture_output=True)
    clone = project.with_name(f"{project.name}-ci")
    subprocess.run(
        ["git", "clone", "--quiet", str(project), str(clone)],
        env=identity,
        check=True,
        capture_output=True,
    )
    return clone


def run_step(step: Step, *, cwd: Path, env: dict[str, str], timeout: float) -> str:
    """Run one `run:` step in GitHub's shell; fail with its output unless it passes."""
    return run_ok(*SHELL, step.run, cwd=cwd, env=env | step.env, timeout=timeout)
