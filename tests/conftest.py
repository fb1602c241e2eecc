"""Shared fixtures of the template's tests: services, generated projects, the tier summary."""

from __future__ import annotations

import os
import socket
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import copier
import pytest

from .matrix import ROOT, Combination, combinations, derive

TIERS = ("questions", "render", "project", "e2e")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


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
        message = f"{self.name} is not answering on 127.0.0.1:{self.port}; start it: {self.start}"
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


def worker_index() -> int:
    """0 for the first xdist worker (or no xdist), 1 for the next, and so on."""
    return int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))


# --- Generating projects ------------------------------------------------------------------


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


def combination_params() -> list[object]:
    """The matrix as pytest params; a combination's tests share one xdist worker (loadgroup)."""
    return [
        pytest.param(combination, id=combination.id, marks=pytest.mark.xdist_group(combination.id))
        for combination in combinations()
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
            self.projects[combination.id] = generate(destination, combination.as_data())
            self.seconds[combination.id] = time.perf_counter() - started
        return self.projects[combination.id]


@pytest.fixture(scope="session")
def projects(tmp_path_factory: pytest.TempPathFactory) -> ProjectCache:
    return ProjectCache(tmp_path_factory.mktemp("projects"))


# --- Tier summary -------------------------------------------------------------------------


class TierReport:
    """Per tier: outcomes, and the seconds its tests took (summed over every worker).

    Then what tests measured with `record_property`, one line each.
    """

    def __init__(self) -> None:
        self.outcomes: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.seconds: dict[str, float] = defaultdict(float)
        self.measured: list[str] = []

    def add(self, report: pytest.TestReport) -> None:
        tier = next((name for name in TIERS if name in report.keywords), None)
        if tier is None:
            return
        self.seconds[tier] += report.duration
        if report.when == "call" or report.outcome != "passed":
            self.outcomes[tier][report.outcome] += 1
        if report.when == "call":
            test = report.nodeid.rpartition("::")[2]
            self.measured += [f"{test}: {name}: {value}" for name, value in report.user_properties]

    def lines(self) -> Iterator[str]:
        for tier in TIERS:
            if tier not in self.outcomes:
                continue
            counts = ", ".join(f"{n} {outcome}" for outcome, n in self.outcomes[tier].items())
            yield f"tier {tier}: {counts}; {self.seconds[tier]:.1f} s of test time"
        yield from self.measured


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
