"""Creating a tenant: the seconds `add_tenant` takes, for each tenancy strategy.

How long a new organisation's owner waits for it: with shared users `add_tenant` calls the
service self-service creation calls (shared, a row and a membership; schema, a schema with
every tenant app's migrations); with database tenancy, which an operator provisions, the
migrations of a database the operator made, and the owner's account in it.

For each combination (--data, comma-separated alternatives; default the three strategies,
server wsgi) the project is copied, installed, and its shared tables migrated in a fresh
database. Then one process (`manage.py shell`) creates --count tenants in turn, timing each:
the first apart (a new process imports the commands and reads the migration graph), then the
median and spread of the others. The owner exists beforehand (a signed-in user creates the
organisation) except with database tenancy, where each tenant's database holds its own
users. Each database tenant's database is created empty beforehand, as an operator would.

Numbers, not pass/fail: this machine is shared, so compare the strategies of one run.

    nice -n 10 uv run python bench/tenant_creation.py [--data tenancy=shared,schema]
        [--count 10] [--out bench/results]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import tempfile
from pathlib import Path

from common import answers_of, combinations, copy_in_two_steps

from tests.projects import Project, fresh_database

BENCH = Path(__file__).resolve().parent
DEFAULTS = {"tenancy": "shared,schema,database", "server": "wsgi"}
OWNER = "owner@example.com"
PASSWORD = "bench-password-not-secret"

# Run by `manage.py shell -c`: creates `count` tenants, printing the seconds of each.
CREATE = """
import io, json, time
from django.contrib.auth import get_user_model
from django.core.management import call_command

if {owner_first}:
    get_user_model().objects.create_user(email={owner!r}, password={password!r})
seconds = []
for n in range({count}):
    started = time.perf_counter()
    call_command(
        "add_tenant", f"bench{{n}}", "--name", f"Bench {{n}}",
        "--owner-email", {owner!r}, "--owner-password", {password!r}, stdout=io.StringIO(),
    )
    seconds.append(time.perf_counter() - started)
print("SECONDS", json.dumps(seconds))
"""


def tenant_databases(project: Project, count: int) -> str:
    """Create an empty database per tenant; TENANT_DATABASES naming them."""
    server = project.env["DATABASE_URL"].rpartition("/")[0]
    names = {f"bench{n}": f"{project.database}_bench{n}" for n in range(count)}
    for name in names.values():
        project.run("createdb", "-h", "127.0.0.1", "-U", "postgres", name)
    return ",".join(f"{slug}={server}/{name}" for slug, name in names.items())


def measure(path: Path, count: int) -> dict[str, object]:
    """Install the project, migrate the shared tables, then time `count` tenants' creation."""
    tenancy = answers_of(path)["tenancy"]
    with fresh_database(f"tenants-{tenancy}") as database:
        project = Project(path, database)
        project.run("uv", "sync", "--locked", "--quiet")
        if tenancy == "database":
            project.env["TENANT_DATABASES"] = tenant_databases(project, count)
        project.manage("migrate_tenants")
        code = CREATE.format(
            owner_first=tenancy != "database", owner=OWNER, password=PASSWORD, count=count
        )
        # The tenants' schemas and databases go with the database (their names hold its).
        output = project.manage("shell", "-c", code)
    seconds = json.loads(re.findall(r"^SECONDS (.*)$", output, re.MULTILINE)[-1])
    first, rest = seconds[0], seconds[1:]
    return {
        "tenancy": tenancy,
        "first_seconds": round(first, 3),
        "median_seconds": round(statistics.median(rest), 3),
        "min_seconds": round(min(rest), 3),
        "max_seconds": round(max(rest), 3),
        "count": count,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", action="append", default=[], help="question=answer[,answer]")
    parser.add_argument("--count", type=int, default=10, help="tenants created per strategy")
    parser.add_argument("--out", type=Path, default=BENCH / "results")
    options = parser.parse_args()
    if options.count < 2:
        parser.error("--count must be 2 or more: the first tenant is reported apart")

    results = []
    for data in combinations(DEFAULTS, options.data):
        with tempfile.TemporaryDirectory() as scratch:
            path = Path(scratch) / "project"
            copy_in_two_steps(path, data)
            results.append(measure(path, options.count) | {"data": data})
        result = results[-1]
        print(
            f"{result['tenancy']:<10} first {result['first_seconds']:6.2f} s, then median "
            f"{result['median_seconds']:6.2f} s ({result['min_seconds']:.2f}-"
            f"{result['max_seconds']:.2f}) per tenant",
            flush=True,
        )
    options.out.mkdir(parents=True, exist_ok=True)
    report = options.out / "tenant-creation.json"
    report.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {report}")


if __name__ == "__main__":
    main()
