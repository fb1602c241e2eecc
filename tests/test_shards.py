"""`--shard K/N` splits the suite for parallel jobs, never a generated project's tests."""

import pytest
import yaml

from .conftest import shard
from .matrix import ROOT
from .servers import run_ok

GROUPS = [f"group-{number}" for number in range(97)]


def test_shards_cover_every_group_once_and_differ_by_one_group_at_most() -> None:
    parts = [shard(GROUPS, index, 4) for index in range(1, 5)]

    assert set().union(*parts) == set(GROUPS)
    assert sum(len(part) for part in parts) == len(GROUPS)
    assert max(map(len, parts)) - min(map(len, parts)) <= 1


def test_a_shard_is_the_same_whatever_order_the_groups_come_in() -> None:
    assert shard(GROUPS, 2, 3) == shard(reversed(GROUPS), 2, 3)


@pytest.mark.parametrize(("index", "count"), [(0, 4), (5, 4)])
def test_a_shard_outside_one_to_n_is_refused(index: int, count: int) -> None:
    with pytest.raises(pytest.UsageError, match="between 1 and N"):
        shard(GROUPS, index, count)


def test_the_template_workflow_runs_every_shard_and_passes_actionlint() -> None:
    workflow = ROOT / ".github" / "workflows" / "ci.yml"
    spec = yaml.safe_load(workflow.read_text(encoding="utf-8"))
    shards = spec["jobs"]["matrix"]["strategy"]["matrix"]["shard"]
    command = spec["jobs"]["matrix"]["steps"][-1]["run"]
    assert shards == list(range(1, len(shards) + 1))
    assert f'--shard "${{{{ matrix.shard }}}}/{len(shards)}"' in command
    run_ok("actionlint", str(workflow), cwd=ROOT)
