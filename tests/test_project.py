"""Tier 3: every combination installs, passes Django's checks, migrates and passes its suite."""

from __future__ import annotations

import atexit
import difflib
import fcntl
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import time
import tomllib
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from .conftest import (
    POSTGRES,
    REDIS,
    ProjectCache,
    SharedOutcome,
    SharedRuns,
    combination_params,
    fingerprint,
    mypy_cache_group,
    redis_database,
    share,
)
from .matrix import Combination, combinations
from .projects import (
    STEP_TIMEOUT,
    Project,
    drop_databases_like,
    fresh_database,
    locked_packages,
    new_database,
    worker_venv,
)
from .servers import run_ok
from .verdicts import FileCheck, Findings, Verdicts
from .workflow import Step, Workflow, clean_clone, on_services, read_workflow, run_step

pytestmark = pytest.mark.project

# What this tier never reads: deployment files, docs, the answers and the local secret, and
# caches a run leaves behind. Two combinations that render the same files otherwise (the
# same Python, settings, pyproject.toml, uv.lock and CI workflow) share one run.
UNREAD = {
    *(".env", ".copier-answers.yml", "README.md"),
    *("Dockerfile", ".dockerignore", "compose.yaml", "deploy.yml"),
}
UNREAD_DIRS = {"deploy", ".git", ".venv", "__pycache__", ".mypy_cache", ".pytest_cache"}
# The first day's commands run in the process of the workflow's `check --deploy` step.
FIRST_DAY = ", then the first day"
SENTRY_IS_ACTIVE = "import sentry_sdk; print('sentry active:', sentry_sdk.get_client().is_active())"
# What the deploy target changes among the files this tier reads: the production settings
# (storage), the storage library, the environment CI checks them in, and the suite's tests
# that load the production settings. Combinations that differ only there share one run of the
# whole suite; each target then runs what it changes (`check_deploy_target`).
DEPLOY_TARGET_FILES = (
    "config/settings/production.py",
    "pyproject.toml",
    "uv.lock",
    ".github/workflows/ci.yml",
    "*/core/cloudwatch.py",  # AWS: the queues' lengths for the workers' scaling
)
DEPLOY_TARGET_TESTS = ("*/core/tests/test_security.py", "*/core/tests/test_cloudwatch.py")
COMBINATIONS = {combination.id: combination for combination in combinations()}


def call_commands(*commands: list[str]) -> str:
    """Python that runs management commands in turn, for `manage.py shell -c`.

    Django then starts once for several commands: start-up is most of a command's cost here.
    """
    return (
        "from django.core.management import call_command\n"
        f"for argv in {json.dumps(commands)}:\n"
        "    call_command(*argv)\n"
    )


# The database of this worker's last suite run, by suite key. Its deploy targets run next on
# the same worker (one xdist group) with the same models and migrations: they run on it, and
# their suite (`--reuse-db`, as the project's pytest settings say) reuses its test databases
# rather than migrating new ones.
_kept_databases: dict[str, str] = {}


def suite_database(key: str) -> str:
    """A fresh database for a suite run, kept (with its test twins) until the next one."""
    for name in _kept_databases.values():
        drop_databases_like(name)
    _kept_databases.clear()
    _kept_databases[key] = new_database(key)
    return _kept_databases[key]


@atexit.register
def _drop_kept_databases() -> None:
    for name in _kept_databases.values():
        drop_databases_like(name)


@contextmanager
def deploy_target_database(suite_key: str, combination: Combination) -> Iterator[str]:
    """The database of the suite run this deploy target follows, or a fresh one."""
    if suite_key in _kept_databases:
        yield _kept_databases[suite_key]
    else:
        with fresh_database(combination.id) as database:
            yield database


def read_by_this_tier(project: Path) -> list[Path]:
    return [
        path
        for path in project.rglob("*")
        if path.is_file()
        and path.name not in UNREAD
        and not UNREAD_DIRS.intersection(path.relative_to(project).parts)
    ]


def deploy_target_specific(project: Path, path: Path) -> bool:
    relative = path.relative_to(project)
    return any(relative.match(pattern) for pattern in (*DEPLOY_TARGET_FILES, *DEPLOY_TARGET_TESTS))


# mypy's caches, one per group of combinations that share one (`mypy_cache_group`), kept
# between runs on this machine as uv keeps its package cache. A group unused this long goes.
MYPY_CACHES = (
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "copier-django-pro/mypy"
)
MYPY_CACHE_DAYS = 30
# The groups whose cache this process has opened; for the cost report, whether an earlier
# run had left each one ("kept") or not ("empty").
MYPY_GROUPS_OPENED: set[str] = set()
MYPY_CACHES_FOUND: list[str] = []


@contextmanager
def mypy_cache(combination: Combination) -> Iterator[Path]:
    """The mypy cache of the combination's group, held by this process for the block.

    mypy trusts a cached module only when its source hash, its options and its plugins'
    config match, and checks again every module whose dependencies changed. The Django
    plugin's config names the installed apps and the Django version, so a group's cache
    serves no other group: kept between runs, a group's first project starts from the last
    run's rather than reading every stub and typed library again (three quarters of mypy's
    time in this tier). Another run on this machine may hold the same group's cache.
    """
    group = mypy_cache_group(combination)
    folder = MYPY_CACHES / hashlib.sha256(group.encode()).hexdigest()[:16]
    if not MYPY_GROUPS_OPENED:
        remove_stale_mypy_caches()
    if group not in MYPY_GROUPS_OPENED:
        MYPY_GROUPS_OPENED.add(group)
        MYPY_CACHES_FOUND.append("kept" if folder.is_dir() else "empty")
    folder.mkdir(parents=True, exist_ok=True)
    with folder.with_suffix(".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        os.utime(folder)  # used now: not stale
        yield folder


def remove_stale_mypy_caches(root: Path = MYPY_CACHES) -> None:
    """Remove the caches of groups no run has used for `MYPY_CACHE_DAYS` (the matrix moved)."""
    cutoff = time.time() - MYPY_CACHE_DAYS * 86400
    for folder in root.glob("*/"):
        if folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
            folder.with_suffix(".lock").unlink(missing_ok=True)


def checkout(path: Path, database: str, mypy_cache: Path) -> tuple[Project, Workflow]:
    """A clean clone of the project, with its CI job's environment on this run's services."""
    clone = clean_clone(path)
    workflow = read_workflow(clone)
    project = Project(clone, database, venv=worker_venv())
    project.env |= {"CI": "true", "GITHUB_ACTIONS": "true"}
    project.env |= on_services(workflow.env, database, redis_database())
    project.env["MYPY_CACHE_DIR"] = str(mypy_cache)
    return project, workflow


# The tools the git hooks run, whose locked versions their verdicts depend on.
HOOK_TOOLS = {"pre-commit", "pre-commit-hooks", "django-upgrade", "ruff", "djlint"}


def hooks_config(project: Path) -> str:
    """What the git hooks' verdict on a file depends on besides the file: their configuration,
    the locked versions of their tools, their settings in pyproject.toml, and the Django
    requirement django-upgrade reads its target from. No other requirement: a deploy target's
    storage extra or an optional app's package must not make every file judged again."""
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    return json.dumps(
        [
            (project / ".pre-commit-config.yaml").read_text(encoding="utf-8"),
            sorted(package for package in locked_packages(project) if package[0] in HOOK_TOOLS),
            {name: pyproject["tool"].get(name) for name in ("ruff", "djlint")},
            [d for d in pyproject["project"]["dependencies"] if is_django(d)],
        ],
        sort_keys=True,
    )


def is_django(requirement: str) -> bool:
    return Requirement(requirement).name.lower() == "django"


def git_hooks(project: Project, step: Step) -> FileCheck:
    """The workflow's git-hooks step as a file check: run on the files not judged yet.

    A failing run names no single file reliably (the hooks fix files in place), so each of
    the files it ran on carries its output.
    """
    assert "--all-files" in step.run, f"CI step {step.name!r} no longer runs on every file"

    def judge(root: Path, files: list[str]) -> Findings:
        narrowed = Step(step.name, step.run.replace("--all-files", f"--files {shlex.join(files)}"))
        try:
            run_step(narrowed, cwd=root, env=project.env | step.env, timeout=STEP_TIMEOUT)
        except AssertionError as error:
            return dict.fromkeys(files, str(error))
        return {}

    return FileCheck("git hooks", judge, hooks_config)


def tracked_files(project: Path) -> list[Path]:
    listing = run_ok("git", "ls-files", "-z", cwd=project)
    return [project / name for name in listing.split("\0") if name]


# Seconds each CI step took in this worker, for the cost report (`step_cost` below).
STEP_SECONDS: dict[str, list[float]] = defaultdict(list)


def run_steps(
    project: Project, steps: list[Step], verdicts: Verdicts, owner: str
) -> list[tuple[Step, str]]:
    """Run the steps in turn, as the job does; each with its output.

    The git hooks judge files, so they run on the files whose content no earlier run judged.
    """
    results: list[tuple[Step, str]] = []
    for step in steps:
        with timed(step.name):
            if step.runs("pre-commit run"):
                check = git_hooks(project, step)
                paths = tracked_files(project.path)
                findings = verdicts.findings(check, project.path, paths, owner)
                assert not findings, f"CI step {step.name!r} failed:\n" + "\n".join(findings)
                results.append((step, ""))
            else:
                output = run_step(step, cwd=project.path, env=project.env, timeout=STEP_TIMEOUT)
                results.append((step, output))
    return results


@contextmanager
def timed(step: str) -> Iterator[None]:
    """Add the seconds the block takes to `step`'s in this worker's cost report."""
    started = time.perf_counter()
    yield
    STEP_SECONDS[step].append(time.perf_counter() - started)


def suite_output(results: list[tuple[Step, str]]) -> str:
    return next(output for step, output in results if step.runs("pytest"))


def has_tenants(combination: Combination) -> bool:
    return combination.as_data().get("tenancy", "none") != "none"


def first_day_commands(combination: Combination) -> list[list[str]]:
    """The README's first steps beyond CI: migrate a fresh database, add and list a tenant."""
    commands = [["migrate", "--noinput"]]
    if has_tenants(combination):
        commands += [
            ["migrate_tenants"],
            [
                "add_tenant",
                "demo",
                "--name=Demo",
                "--admin-email=admin@demo.test",
                "--admin-password=Not-a-real-pw-1",
            ],
            ["list_tenants"],
        ]
    return commands


def with_first_day(project: Project, step: Step, combination: Combination) -> Step:
    """The workflow's `check --deploy` step, with the first day in the same process.

    Both start Django on the production settings: one process does the step's check as the
    step runs it (its command line, its environment), then the first day's commands, and
    proves the production settings start Sentry when a DSN is set. `manage.py shell` runs no
    checks of its own, so the step's check runs once.
    """
    check = re.search(r"manage\.py (check [^;&|\n]*)", step.run)
    assert check, f"CI step {step.name!r} no longer runs `manage.py check`"
    code = call_commands(shlex.split(check.group(1)), *first_day_commands(combination))
    command = f"manage.py shell -c {shlex.quote(code + SENTRY_IS_ACTIVE)}"
    env = project.production(SENTRY_DSN="https://key@127.0.0.1/1") | step.env
    return Step(step.name + FIRST_DAY, step.run.replace(check.group(0), command), env)


def install_check_and_test(
    path: Path, combination: Combination, suite_key: str, verdicts: Verdicts
) -> None:
    """The new repository's CI, from a clean clone, then what a developer's first day does."""
    with mypy_cache(combination) as cache:
        project, workflow = checkout(path, suite_database(suite_key), cache)
        steps = [
            with_first_day(project, step, combination) if step.runs("check --deploy") else step
            for step in workflow.steps
        ]
        results = run_steps(project, steps, verdicts, combination.id)
    suite = suite_output(results)
    assert "Required test coverage of 90" in suite
    assert_suite_passed(suite)
    first_day = next(output for step, output in results if step.name.endswith(FIRST_DAY))
    assert "sentry active: True" in first_day
    if has_tenants(combination):
        assert "demo\tDemo" in first_day


# The locked packages that judge a deploy target's changes: the framework, the type checker
# and its stubs, the test runner.
DELTA_JUDGES = {"django", "django-stubs", "djangorestframework-stubs", "mypy", "pytest"}


def changed_lines(before: str, after: str) -> list[str]:
    """The lines `after` drops and adds, without their positions (they move with the rest)."""
    diff = difflib.unified_diff(before.splitlines(), after.splitlines(), n=0, lineterm="")
    return [line for line in diff if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def deploy_target_changes(suite_project: Path, project: Path) -> str:
    """A key for what `project`'s deploy target changes in the project its suite ran on.

    The lines each deploy-target-specific file drops and adds, the packages its lock drops and
    adds, and the locked versions of what judges them. The types and the production-settings
    tests of a deploy target depend on these and on what the suite run already passed, so
    deploy targets that make the same changes share one run of those two steps.
    """
    changes: list[object] = []
    for relative in [*DEPLOY_TARGET_FILES, *DEPLOY_TARGET_TESTS]:
        for after in sorted(project.glob(relative)):
            name = after.relative_to(project).as_posix()
            if name == "uv.lock":
                continue
            before = suite_project / name
            old = before.read_text(encoding="utf-8") if before.exists() else ""
            changes.append([name, changed_lines(old, after.read_text(encoding="utf-8"))])
    old, new = locked_packages(suite_project), locked_packages(project)
    changes.append([sorted(old - new), sorted(new - old)])
    changes.append(sorted(package for package in new if package[0] in DELTA_JUDGES))
    return hashlib.sha256(json.dumps(changes).encode()).hexdigest()


def deploy_target_steps(workflow: Workflow, tests: list[str]) -> tuple[list[Step], list[Step]]:
    """The CI steps another deploy target runs: those every target runs, those it may share.

    Every target: its lock installs, and the git hooks pass on the files it changes (the
    others' verdicts are known). Shared by targets that make the same changes
    (`deploy_target_changes`): mypy, the workflow's own `check --deploy` step with the
    target's environment, and the suite's tests of the production settings. Their verdict
    depends on the change and on the rest of the project, which the suite run of the same
    project passed. The other steps read only what that suite run read.
    """
    every: list[Step] = []
    shared: list[Step] = []
    for step in workflow.steps:
        if any(step.runs(word) for word in ("uv sync", "pre-commit")):
            every.append(step)
        elif any(step.runs(word) for word in ("mypy", "check --deploy")):
            shared.append(step)
        elif step.runs("pytest"):
            command = f"uv run pytest -p no:cacheprovider -q {' '.join(tests)}"
            shared.append(Step(step.name, command, step.env))
    return every, shared


def check_deploy_target(
    path: Path,
    combination: Combination,
    suite: tuple[Path, str],
    verdicts: Verdicts,
    shared_runs: SharedRuns,
) -> SharedOutcome:
    """What another deploy target changes, once the same project for another target passed.

    `suite` is the project the suite ran on and its key. Returns the outcome of the steps
    shared by deploy targets that make the same changes.
    """
    suite_project, suite_key = suite
    with (
        deploy_target_database(suite_key, combination) as database,
        mypy_cache(combination) as cache,
    ):
        project, workflow = checkout(path, database, cache)
        found = [test for pattern in DEPLOY_TARGET_TESTS for test in project.path.glob(pattern)]
        tests = [str(test.relative_to(project.path)) for test in found]
        assert tests, f"no test matches {DEPLOY_TARGET_TESTS}"
        every, shared = deploy_target_steps(workflow, tests)
        run_steps(project, every, verdicts, combination.id)

        def run_shared() -> None:
            results = run_steps(project, shared, verdicts, combination.id)
            assert_suite_passed(suite_output(results))

        changes = deploy_target_changes(suite_project, path)
        return shared_runs.run("deploy target changes", changes, combination.id, run_shared)


def assert_suite_passed(output: str) -> None:
    assert " passed" in output
    assert " failed" not in output
    # Not coverage's "N files skipped due to complete coverage": pytest's own count.
    assert not re.search(r"\d+ skipped", output), "the generated suite must not skip anything"


@pytest.mark.parametrize("combination", combination_params())
def test_project_installs_checks_migrates_and_passes(
    projects: ProjectCache,
    shared_runs: SharedRuns,
    verdicts: Verdicts,
    combination: Combination,
    request: pytest.FixtureRequest,
) -> None:
    POSTGRES.require()
    REDIS.require()
    path = projects.get(combination)
    read = read_by_this_tier(path)
    suite_key = fingerprint(path, [file for file in read if not deploy_target_specific(path, file)])

    def run() -> None:
        suite = shared_runs.run(
            "project suite",
            suite_key,
            combination.id,
            lambda: install_check_and_test(path, combination, suite_key, verdicts),
        )
        request.node.user_properties.append(("shared project suite", suite.owner))
        if suite.owner == combination.id:
            assert suite.passed, suite.message
            return
        assert suite.passed, f"(the suite run of {suite.owner})\n{suite.message}"
        suite_project = projects.get(COMBINATIONS[suite.owner])
        shared = check_deploy_target(
            path, combination, (suite_project, suite_key), verdicts, shared_runs
        )
        request.node.user_properties.append(("shared deploy target changes", shared.owner))
        assert shared.passed, (
            f"(the deploy target run of {shared.owner}, which makes the same changes)\n"
            f"{shared.message}"
        )

    outcome = shared_runs.run("project", fingerprint(path, read), combination.id, run)
    for name, seconds in STEP_SECONDS.items():
        request.node.user_properties += [(f"step {name}", value) for value in seconds]
    STEP_SECONDS.clear()
    request.node.user_properties += [("cache mypy", found) for found in MYPY_CACHES_FOUND]
    MYPY_CACHES_FOUND.clear()
    share(request, "project", outcome, combination.id)


def test_schema_tenancy_refuses_sqlite_with_a_hint(projects: ProjectCache) -> None:
    combination = next(c for c in combinations() if c.as_data().get("tenancy") == "schema")
    project = Project(projects.get(combination), database="unused", venv=worker_venv())
    project.run("uv", "sync", "--locked", "--quiet")
    del project.env["DATABASE_URL"]
    result = subprocess.run(
        [str(project.venv / "bin" / "python"), "manage.py", "check"],
        cwd=project.path,
        env=project.env,
        capture_output=True,
        text=True,
        timeout=STEP_TIMEOUT,
        check=False,
    )
    assert result.returncode != 0
    assert "Schema tenancy needs PostgreSQL" in result.stderr


def minimal_project(root: Path, settings: str, packages: dict[str, str]) -> Path:
    """The deploy-target-specific files of a project, as far as `deploy_target_changes` reads."""
    (root / "config/settings").mkdir(parents=True)
    (root / "config/settings/production.py").write_text(settings)
    (root / "pyproject.toml").write_text('[project]\nname = "app"\n')
    lock = "".join(f'[[package]]\nname = "{n}"\nversion = "{v}"\n\n' for n, v in packages.items())
    (root / "uv.lock").write_text(lock)
    return root


S3 = 'STORAGES = {"default": "s3"}\n'
GCS = 'STORAGES = {"default": "gcs"}\n'
S3_PACKAGES = {"django": "5.2", "boto3": "1"}
GCS_PACKAGES = {"django": "5.2", "gcs": "3"}


def test_deploy_targets_that_make_the_same_changes_share_their_run(tmp_path: Path) -> None:
    """The same storage change in two different projects: one run serves both."""
    keys = []
    for name, rest in (("one", "TENANCY = None\n"), ("two", "TENANCY = 'schema'\nX = 1\n")):
        suite = minimal_project(tmp_path / name / "suite", rest + S3, S3_PACKAGES)
        target = minimal_project(tmp_path / name / "gcp", rest + GCS, GCS_PACKAGES)
        keys.append(deploy_target_changes(suite, target))
    assert keys[0] == keys[1]


@pytest.mark.parametrize(
    ("settings", "packages"),
    [
        pytest.param(GCS + "DEBUG = True\n", {"django": "5.2", "gcs": "3"}, id="a planted line"),
        pytest.param(GCS, {"django": "5.2", "gcs": "4"}, id="another version of its library"),
        pytest.param(GCS, {"django": "6.1", "gcs": "3"}, id="another Django"),
    ],
)
def test_a_change_one_deploy_target_alone_makes_is_run_again(
    tmp_path: Path, settings: str, packages: dict[str, str]
) -> None:
    suite = minimal_project(tmp_path / "suite", S3, S3_PACKAGES)
    same = minimal_project(tmp_path / "same", GCS, GCS_PACKAGES)
    other = minimal_project(tmp_path / "other", settings, packages)
    assert deploy_target_changes(suite, other) != deploy_target_changes(suite, same)


def test_a_mypy_cache_no_run_used_for_a_month_is_removed_with_its_lock(tmp_path: Path) -> None:
    stale, fresh = tmp_path / "stale", tmp_path / "fresh"
    for folder in (stale, fresh):
        (folder / "3.13").mkdir(parents=True)
        folder.with_suffix(".lock").touch()
    long_ago = time.time() - (MYPY_CACHE_DAYS + 1) * 86400
    os.utime(stale, (long_ago, long_ago))
    remove_stale_mypy_caches(tmp_path)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["fresh", "fresh.lock"]
