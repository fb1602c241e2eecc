"""Shared fixtures of the template's tests: services, generated projects, the tier summary."""

from __future__ import annotations

import atexit
import fcntl
import hashlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import IO, Any, NoReturn

import copier
import copier._main
import copier._template
import copier.errors
import jinja2
import plumbum
import pytest

from .matrix import ROOT, Combination, combinations, covering_combinations, derive, resolve
from .verdicts import Verdicts

TIERS = ("questions", "render", "project", "e2e")
# The question whose answers change only what a deployment needs (tier 3 shares runs over it).
DEPLOY_TARGET_AXIS = "cloud"
# The answers mypy's cache depends on: the Django version and those that change the installed
# apps (mypy's Django plugin drops its whole cache when they change). Combinations that agree
# on them run on one worker, so mypy checks again only the files that differ. A grouping for
# speed only: a question missing here costs cache misses, never a check.
MYPY_CACHE_ANSWERS = ("django_version", "tenancy", "channels", "use_htmx", "use_celery")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

# Every generated project has a new virtualenv: without bytecode files there, each Python
# process the tiers start (manage.py, pytest, servers) compiles Django and its apps from
# source again, seconds per process here. The suites' own runs write them once per venv.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


# --- Services -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Service:
    name: str
    port: int
    start: str

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2):
                return True
        except OSError:
            return False

    def require(self) -> None:
        """Fail under CI, skip elsewhere, when the service is down; say how to start it."""
        if self.answers():
            return
        missing(f"{self.name} is not answering on 127.0.0.1:{self.port}; start it: {self.start}")


def missing(message: str) -> NoReturn:
    """A tier's prerequisite is absent: fail under CI, skip elsewhere, saying how to get it."""
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


POSTGRES = Service(
    "PostgreSQL",
    5432,
    "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
)
REDIS = Service(
    "Redis",
    6379,
    'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no',
)


_redis_lock: IO[bytes] | None = None


def redis_database() -> int:
    """A Redis database number (1-12) that no other test process on this machine holds.

    Generated suites flush their Redis database between tests, so two runs sharing one would
    reset each other's throttle counters. The number is held, by a lock file, for the life of
    this process.
    """
    global _redis_lock
    if _redis_lock is not None:
        return int(Path(_redis_lock.name).stem.rpartition("-")[2])
    for number in range(1, 13):  # 13 belongs to the container tier
        path = Path(tempfile.gettempdir(), f"copier-django-pro-redis-{number}.lock")
        lock = path.open("wb")  # held open, and locked, for the life of the process
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        _redis_lock = lock
        atexit.register(lock.close)
        return number
    raise RuntimeError("Redis databases 1-12 are all held by other test processes.")


def worker_index() -> int:
    """0 for the first xdist worker (or no xdist), 1 for the next, and so on."""
    return int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))


# --- Generating projects ------------------------------------------------------------------

_jinja_compile = jinja2.Environment.compile
_compiled: dict[tuple[object, ...], Any] = {}


def _compile_once(
    self: jinja2.Environment,
    source: Any,
    name: str | None = None,
    filename: str | None = None,
    raw: bool = False,
    defer_init: bool = False,
) -> Any:
    """Jinja's compile, once per template text and environment options in this process.

    Copier makes a new Jinja environment for each copy and compiles every file and file name
    of the template again: two thirds of a copy's own time, for 384 copies of the same text.
    Rendering still runs for every copy; only compiling identical source text to identical
    Python code is shared. (`filename` only names the code in tracebacks.)
    """
    if raw or not isinstance(source, str):
        return _jinja_compile(self, source, name, filename, raw, defer_init)
    options = (
        type(self),
        self.block_start_string,
        self.block_end_string,
        self.variable_start_string,
        self.variable_end_string,
        self.comment_start_string,
        self.comment_end_string,
        self.line_statement_prefix,
        self.line_comment_prefix,
        self.trim_blocks,
        self.lstrip_blocks,
        self.newline_sequence,
        self.keep_trailing_newline,
        self.optimized,
        self.autoescape,
        self.finalize,
        self.is_async,
        tuple(self.extensions),
    )
    key = (source, name, defer_init, options)
    if key not in _compiled:
        _compiled[key] = _jinja_compile(self, source, name, filename, raw, defer_init)
    return _compiled[key]


jinja2.Environment.compile = _compile_once  # type: ignore[method-assign,assignment]

_render_template = copier._main.Worker._render_template
_sync_executable_bit = copier._main.Worker._sync_git_index_executable_bit
_git_ignores_file_modes: ContextVar[bool] = ContextVar("git_ignores_file_modes", default=False)


def _render_template_asking_git_once(self: copier._main.Worker) -> None:
    """Copier's rendering, with its question to git asked once per render, not once per file.

    After writing each file Copier runs `git config core.fileMode` in the destination (a
    process per file, a fifth of a copy's time here) and syncs the git index's executable bit
    only when that is false. Git's answer cannot change while one render writes files.
    """
    folder = Path(self.subproject.local_abspath)
    while not folder.is_dir():
        folder = folder.parent
    setting = subprocess.run(
        ["git", "-C", str(folder), "config", "--type=bool", "--get", "core.fileMode"],
        capture_output=True,
        text=True,
        check=False,
    )
    token = _git_ignores_file_modes.set(setting.stdout.strip() == "false")
    try:
        _render_template(self)
    finally:
        _git_ignores_file_modes.reset(token)


def _sync_executable_bit_if_git_ignores_modes(
    self: copier._main.Worker, dst_relpath: Path, src_mode: int
) -> None:
    if _git_ignores_file_modes.get():
        _sync_executable_bit(self, dst_relpath, src_mode)


copier._main.Worker._render_template = _render_template_asking_git_once  # type: ignore[method-assign]
copier._main.Worker._sync_git_index_executable_bit = _sync_executable_bit_if_git_ignores_modes  # type: ignore[method-assign]

_worker_template = copier._main.Worker.template
_templates: dict[tuple[str, str | None, bool], copier._template.Template] = {}


def _this_template_once(self: copier._main.Worker) -> copier._template.Template:
    """Copier's template object, made once per ref of this template in this process.

    Each copy otherwise clones the template (with its uncommitted changes) into a new folder
    and parses copier.yml again: a quarter of a copy's time, for 384 copies of one tree that
    no test changes while the session runs. Updates, which name other sources, are untouched.
    """
    if self.src_path != str(ROOT):
        return _worker_template.func(self)
    key = (self.src_path, self.resolved_vcs_ref, self.use_prereleases)
    if key not in _templates:
        template = copier._template.Template(*key)
        atexit.register(template._cleanup)
        _templates[key] = template
    return _templates[key]


_shared_template = cached_property(_this_template_once)
_shared_template.__set_name__(copier._main.Worker, "template")
copier._main.Worker.template = _shared_template  # type: ignore[method-assign,assignment]

_execute_tasks = copier._main.Worker._execute_tasks
# uv.lock by the pyproject.toml it locks, as this process's copies wrote them.
_locks: dict[bytes, bytes] = {}


def _execute_tasks_with_known_lock(
    self: copier._main.Worker, tasks: Sequence[copier._template.Task]
) -> None:
    """Copier's tasks, in a copy whose pyproject.toml an earlier copy here has locked already.

    The 384 combinations render 144 distinct pyproject.toml files. The post-copy task keeps a
    lock that `uv lock --check` finds current and resolves only when it is not, so a copy
    given the lock its pyproject.toml was resolved to skips a resolution and writes the same
    bytes. Only copies of this template, into folders without a lock of their own.
    """
    project = Path(self.subproject.local_abspath)
    pyproject, lock = project / "pyproject.toml", project / "uv.lock"
    shared = self.src_path == str(ROOT) and pyproject.exists() and not lock.exists()
    if shared and pyproject.read_bytes() in _locks:
        lock.write_bytes(_locks[pyproject.read_bytes()])
    _execute_tasks(self, tasks)
    if shared and lock.exists():
        _locks[pyproject.read_bytes()] = lock.read_bytes()


copier._main.Worker._execute_tasks = _execute_tasks_with_known_lock  # type: ignore[method-assign]


def generate(destination: Path, data: dict[str, object]) -> Path:
    """Run `copier copy` of the working tree (uncommitted changes included) with `data`."""
    copier.run_copy(
        str(ROOT),
        destination,
        data=data,
        defaults=True,
        unsafe=True,  # the template's own post-generation task
        vcs_ref="HEAD",
        quiet=True,
    )
    return destination


def generate_from_uv_cache(destination: Path, data: dict[str, object]) -> Path:
    """`generate`, its post-copy `uv lock` offline when uv's cache holds every package it needs.

    The template pins uv's `exclude-newer`, so an offline lock resolves the same versions an
    online one would, without the index round trips (2 s of each copy here). A package the
    cache lacks fails the offline lock, and the copy runs again online. Copier runs its tasks
    with plumbum's copy of the environment, taken at import: `os.environ` would not reach them.
    """
    try:
        with plumbum.local.env(UV_OFFLINE="1"):
            return generate(destination, data)
    except copier.errors.TaskError:
        shutil.rmtree(destination, ignore_errors=True)
    return generate(destination, data)


def combination_params() -> list[object]:
    """The matrix as pytest params, grouped for xdist (loadgroup) by `MYPY_CACHE_ANSWERS`.

    A group's tests run on one worker, one after another: each combination is generated once,
    the project tier's deploy targets follow the run of the suite they share, so none waits
    for another worker's run, and each starts from its sibling's caches.
    """
    return [
        pytest.param(
            combination,
            id=combination.id,
            marks=pytest.mark.xdist_group(mypy_cache_group(combination)),
        )
        for combination in combinations()
    ]


def mypy_cache_group(combination: Combination) -> str:
    context, _, _ = resolve(combination.as_data())
    return "-".join(f"{name}={context[name]}" for name in MYPY_CACHE_ANSWERS)


def covering_params() -> list[object]:
    """Few combinations that together give every axis every value: for end-to-end tests."""
    return [
        pytest.param(combination, id=combination.id, marks=pytest.mark.xdist_group("docker"))
        for combination in covering_combinations()
    ]


class ProjectCache:
    """Generate each combination once per worker; every tier reads the same copy."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.projects: dict[str, Path] = {}
        self.seconds: dict[str, float] = {}

    def get(self, combination: Combination) -> Path:
        if combination.id not in self.projects:
            started = time.perf_counter()
            destination = self.root / f"p{len(self.projects)}"
            self.projects[combination.id] = generate_from_uv_cache(
                destination, combination.as_data()
            )
            self.seconds[combination.id] = time.perf_counter() - started
        return self.projects[combination.id]


@pytest.fixture(scope="session")
def projects(tmp_path_factory: pytest.TempPathFactory) -> ProjectCache:
    return ProjectCache(tmp_path_factory.mktemp("projects"))


# Folders that tools write in a project: no check reads them.
TOOL_FOLDERS = {".venv", ".git", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
# Binary files, and the SQLite databases a project run may leave behind.
BINARY_SUFFIXES = {".png", ".ico", ".woff2", ".gz", ".br", ".sqlite3"}


def text_files(project: Path) -> list[Path]:
    """The project's text files, uv.lock included, in a stable order."""
    return [
        path
        for path in sorted(project.rglob("*"))
        if path.is_file()
        and not TOOL_FOLDERS.intersection(path.relative_to(project).parts)
        and path.suffix not in BINARY_SUFFIXES
    ]


# --- Runs shared by combinations that render the same files ------------------------------


def fingerprint(root: Path, paths: Iterable[Path]) -> str:
    """A digest of the names, modes and contents of `paths` (files below `root`)."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(f"{path.relative_to(root)}\0{path.stat().st_mode & 0o111}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


@dataclass(frozen=True)
class SharedOutcome:
    owner: str  # the combination whose test ran the check
    passed: bool
    message: str


class SharedRuns:
    """Run a check once per key, whichever xdist worker gets there first.

    The first test to take a key's lock runs the check and writes its outcome next to the
    lock; a test with the same key waits for the lock and reads that outcome instead.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def run(self, kind: str, key: str, owner: str, check: Callable[[], None]) -> SharedOutcome:
        result = self.root / f"{kind}-{key}.json"
        with (self.root / f"{kind}-{key}.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            if result.exists():
                return SharedOutcome(**json.loads(result.read_text()))
            try:
                check()
            except AssertionError as error:
                outcome = SharedOutcome(owner, passed=False, message=str(error))
            else:
                outcome = SharedOutcome(owner, passed=True, message="")
            result.write_text(json.dumps(outcome.__dict__))
            return outcome


@pytest.fixture(scope="session")
def shared_runs(tmp_path_factory: pytest.TempPathFactory) -> SharedRuns:
    # Every xdist worker's base temp dir sits in the session's own one.
    base = tmp_path_factory.getbasetemp()
    return SharedRuns((base.parent if "PYTEST_XDIST_WORKER" in os.environ else base) / "shared")


@pytest.fixture(scope="session")
def verdicts(shared_runs: SharedRuns) -> Verdicts:
    return Verdicts(shared_runs.root / "verdicts")


def share(request: pytest.FixtureRequest, kind: str, outcome: SharedOutcome, me: str) -> None:
    """Fail like the run this test shares, and record who ran it for the summary."""
    request.node.user_properties.append((f"shared {kind}", outcome.owner))
    if not outcome.passed:
        shared = "" if outcome.owner == me else f"(the {kind} run of {outcome.owner})\n"
        pytest.fail(shared + outcome.message, pytrace=False)


# --- Shards -------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--shard",
        metavar="K/N",
        help="run the K-th of N parts of the suite (by xdist group, so no group is split)",
    )


def group_of(item: pytest.Item) -> str:
    """The item's xdist group: tests that share a generated project and its runs."""
    marker = item.get_closest_marker("xdist_group")
    if marker is None:
        return item.nodeid
    return str(marker.kwargs.get("name", marker.args[0] if marker.args else item.nodeid))


def shard(groups: Iterable[str], index: int, count: int) -> set[str]:
    """The groups of shard `index` (1-based) of `count`: dealt in turn, in sorted order.

    Deterministic, and the sizes differ by one group at most, whatever the groups are.
    """
    if not 1 <= index <= count:
        raise pytest.UsageError(f"--shard {index}/{count}: K must be between 1 and N")
    return set(sorted(set(groups))[index - 1 :: count])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    option = config.getoption("--shard")
    if not option:
        return
    index, _, count = str(option).partition("/")
    if not (index.isdigit() and count.isdigit()):
        raise pytest.UsageError(f"--shard {option}: write it K/N, for example 2/4")
    mine = shard((group_of(item) for item in items), int(index), int(count))
    kept = [item for item in items if group_of(item) in mine]
    config.hook.pytest_deselected(items=[item for item in items if group_of(item) not in mine])
    items[:] = kept


# --- Tier summary -------------------------------------------------------------------------


class TierReport:
    """Per tier: outcomes, the seconds its tests took (summed over every worker), its span.

    Then what tests measured with `record_property`, one line each, and the cost report:
    what each tier cost, and how many distinct inputs and runs served the combinations.
    """

    def __init__(self) -> None:
        self.started = time.time()
        self.outcomes: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.seconds: dict[str, float] = defaultdict(float)
        self.spans: dict[str, tuple[float, float]] = {}
        self.combinations: dict[str, set[str]] = defaultdict(set)
        # kind -> owner -> the combinations whose test used the owner's run
        self.shared: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        # file check -> [files judged, file verdicts served]
        self.files: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        # a generated project's CI step -> the seconds of each run of it
        self.steps: dict[str, list[float]] = defaultdict(list)
        # a tool's cache kept between runs -> how many groups found one ("kept") or not
        self.caches: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.measured: list[str] = []

    def add(self, report: pytest.TestReport) -> None:
        user = report.nodeid.partition("[")[2].partition("]")[0]
        if report.when == "call":
            for name, value in report.user_properties:
                kind, _, what = str(name).partition(" ")
                if kind == "shared":
                    self.shared[what][str(value)].append(user)
                elif kind in {"judged", "served"}:
                    self.files[what][kind == "served"] += int(str(value))
                elif kind == "step":
                    self.steps[what].append(float(str(value)))
                elif kind == "cache":
                    self.caches[what][str(value)] += 1
        tier = next((name for name in TIERS if name in report.keywords), None)
        if tier is None:
            return
        self.seconds[tier] += report.duration
        first, last = self.spans.get(tier, (report.start, report.stop))
        self.spans[tier] = (min(first, report.start), max(last, report.stop))
        if user:
            self.combinations[tier].add(user)
        if report.when == "call" or report.outcome != "passed":
            self.outcomes[tier][report.outcome] += 1
        if report.when == "call":
            test = report.nodeid.rpartition("::")[2]
            self.measured += [
                f"{test}: {name}: {value}"
                for name, value in report.user_properties
                if str(name).partition(" ")[0]
                not in {"shared", "judged", "served", "step", "cache"}
            ]

    def lines(self) -> Iterator[str]:
        for tier in TIERS:
            if tier not in self.outcomes:
                continue
            counts = ", ".join(f"{n} {outcome}" for outcome, n in self.outcomes[tier].items())
            yield f"tier {tier}: {counts}; {self.seconds[tier]:.1f} s of test time"
        yield from (f"measured: {line}" for line in self.measured)
        for kind, owners in self.shared.items():
            users = sum(len(ids) for ids in owners.values())
            yield f"{kind}: {len(owners)} runs served {users} combinations"
            for owner, ids in sorted(owners.items()):
                others = sorted(set(ids) - {owner})
                if others:
                    yield f"  {owner} ran for: {', '.join(others)}"

    def cost(self) -> Iterator[str]:
        """Wall time per tier (its first start to its last end: tiers share the workers and
        overlap), test time, and what one combination cost; then distinct inputs per check."""
        yield f"whole run: {time.time() - self.started:.0f} s wall"
        for tier in TIERS:
            if tier not in self.spans:
                continue
            first, last = self.spans[tier]
            seconds = self.seconds[tier]
            line = f"tier {tier}: {last - first:.0f} s wall, {seconds:.0f} s of test time"
            if combinations := len(self.combinations[tier]):
                per = seconds / combinations
                line += f", {combinations} combinations, {per:.1f} s of test time each"
            yield line
        for step, runs in self.steps.items():
            yield f"CI step {step!r}: {len(runs)} runs, {sum(runs):.0f} s"
        for tool, found in self.caches.items():
            yield (
                f"{tool} cache: {found['kept']} groups started from an earlier run's, "
                f"{found['empty']} from nothing"
            )
        for check, (judged, served) in sorted(self.files.items()):
            yield f"{check}: {judged} distinct files judged for {served} file verdicts served"
        for kind, owners in self.shared.items():
            users = sum(len(ids) for ids in owners.values())
            yield f"{kind}: {len(owners)} runs for {users} combinations"


_tier_report = TierReport()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _tier_report.add(report)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = list(_tier_report.lines())
    if lines:
        terminalreporter.section("tiers")
        matrix = derive()
        terminalreporter.write_line(
            f"matrix: {len(matrix.combinations)} combinations of {len(matrix.axes)} questions "
            f"({matrix.product} in the product, {len(matrix.refused)} refused, "
            f"{matrix.collapsed} collapsed); render and project tiers run each of them"
        )
        for line in lines:
            terminalreporter.write_line(line)
        terminalreporter.section("cost")
        for line in _tier_report.cost():
            terminalreporter.write_line(line)
