"""The article list API with its cache and without: requests per second, and the ratio.

Generates one combination and serves it with its production command (includes/deploy.jinja:
gunicorn, 2 workers) and production settings on 127.0.0.1, against the machine's PostgreSQL
and Redis; seeds 50 published articles through the services, and loads the list with wrk.
Each round starts the same command twice: with the list cache off
(ARTICLE_LIST_CACHE_SECONDS=0), then on. Last, it counts the SQL queries of a miss and of a
hit through Django's test client, in the same settings. Numbers, not pass/fail: compare the
ratio from one run, never assert on it.

    uv run python bench/cache_throughput.py [--data tenancy=shared ...] [--seconds 5]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path
from statistics import median
from typing import Any

import yaml
from jinja2 import Environment, FileSystemLoader

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import generate  # noqa: E402
from tests.servers import free_port, serve  # noqa: E402
from tests.test_project import Project, fresh_database  # noqa: E402

ARTICLES = "/api/v1/articles/"
EMAIL = "bench@example.com"
PASSWORD = "bench-password-not-secret"
TENANT = "demo"
CONNECTIONS = 16

# Run by `manage.py shell -c`; `run` calls `main` inside the tenant's context, if any.
SEED = """
from {slug}.accounts.models import User
from {slug}.articles.models import Tag
from {slug}.articles.services import article_create, article_publish

def main():
    author = User.objects.get(email={email!r})
    tags = [Tag.objects.create(name=f"Tag {{n}}", slug=f"tag-{{n}}") for n in range(3)]
    for n in range(50):
        title, body = f"Article {{n}}", "Text " * 50
        article_publish(article=article_create(author=author, title=title, body=body, tags=tags))
"""
COUNT_QUERIES = """
from contextlib import ExitStack
from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from {slug}.articles.cache import forget_lists

def main():
    client = Client(HTTP_HOST={host!r}, HTTP_AUTHORIZATION={authorization!r})
    forget_lists()
    for label in ("miss", "hit"):
        with ExitStack() as stack:
            captured = [stack.enter_context(CaptureQueriesContext(c)) for c in connections.all()]
            status = client.get({path!r}).status_code
        print(f"{{label}}: HTTP {{status}}, {{sum(len(c) for c in captured)}} SQL queries")
"""


def web_command(answers: dict[str, Any]) -> list[str]:
    """The production web command, exactly as includes/deploy.jinja gives it to every target."""
    environment = Environment(loader=FileSystemLoader(ROOT), autoescape=False)
    include = environment.get_template("includes/deploy.jinja").make_module(answers)
    return list(include.web)  # type: ignore[attr-defined]


def wrk(url: str, headers: dict[str, str], seconds: int) -> tuple[float, int]:
    """Requests per second, and the responses that were not 2xx or 3xx."""
    command = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run(
        [*command, url], capture_output=True, text=True, check=True, timeout=seconds + 30
    ).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if rate is None:
        raise RuntimeError(f"wrk printed no rate:\n{output}")
    return float(rate.group(1)), int(errors.group(1)) if errors else 0


def access_token(base: str, host: str) -> str:
    request = urllib.request.Request(
        f"{base}/api/v1/auth/token/",
        data=json.dumps({"email": EMAIL, "password": PASSWORD}).encode(),
        headers={"Host": host, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(json.loads(response.read())["access"])


def prepare(project: Project, tenancy: str, slug: str) -> tuple[str, str]:
    """Migrate and add the reader; return the host to ask and the code that enters its tenant."""
    if tenancy == "none":
        project.manage("migrate", "--no-input")
        project.manage(
            "createsuperuser", "--no-input", "--email", EMAIL, DJANGO_SUPERUSER_PASSWORD=PASSWORD
        )
        return "127.0.0.1", "main()"
    if tenancy == "database":
        tenant_database = f"{project.database}_{TENANT}"
        project.run("createdb", "-h", "127.0.0.1", "-U", "postgres", tenant_database)
        url = project.env["DATABASE_URL"].rpartition("/")[0]
        project.env["TENANT_DATABASES"] = f"{TENANT}={url}/{tenant_database}"
    project.manage("migrate_tenants")
    project.manage(
        "add_tenant", TENANT, "--name", "Demo", "--admin-email", EMAIL, "--admin-password", PASSWORD
    )
    enter = (
        f"from {slug}.tenants.context import tenant_context\n"
        f"from {slug}.tenants.models import Tenant\n"
        f"with tenant_context(Tenant.objects.get(slug={TENANT!r})):\n"
        "    main()"
    )
    return f"{TENANT}.localhost", enter


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", action="append", default=[], help="question=answer")
    parser.add_argument("--seconds", type=int, default=5, help="length of each wrk run")
    parser.add_argument("--rounds", type=int, default=2, help="uncached-then-cached pairs")
    arguments = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is missing: apt-get install -y wrk", file=sys.stderr)
        return 1
    data = dict(item.split("=", 1) for item in arguments.data)
    print(f"combination: {', '.join(f'{k}={v}' for k, v in data.items()) or 'defaults'}")

    with tempfile.TemporaryDirectory() as scratch:
        path = generate(Path(scratch, "project"), data)
        answers = yaml.safe_load((path / ".copier-answers.yml").read_text())
        slug = answers["project_slug"]
        with fresh_database("bench-cache") as database:
            project = Project(path, database)
            project.run("uv", "sync", "--locked", "--quiet")
            host, run = prepare(project, answers.get("tenancy", "none"), slug)
            project.manage("shell", "-c", SEED.format(slug=slug, email=EMAIL) + run)

            port = free_port()
            production = project.production(
                DJANGO_ALLOWED_HOSTS="127.0.0.1,.localhost",
                TENANT_BASE_DOMAIN="localhost",
                DJANGO_SECURE_SSL_REDIRECT="false",
                JWT_ACCESS_MINUTES="60",
                # One reader sends every request: lift its rate limit, keep the throttle.
                API_THROTTLE_USER="1000000/second",
                PORT=str(port),
                WEB_CONCURRENCY="2",
            )
            program, *options = web_command(answers)
            # The bench stays on the loopback: the command line overrides the config's bind.
            command = [f".venv/bin/{program}", *options, "--bind", f"127.0.0.1:{port}"]
            rates: dict[str, list[float]] = {"uncached": [], "cached": []}
            ceiling = 0.0
            for _ in range(arguments.rounds):
                for label, seconds in (("uncached", "0"), ("cached", "30")):
                    env = production | {"ARTICLE_LIST_CACHE_SECONDS": seconds}
                    log = Path(scratch, f"server-{label}.log")
                    with serve(
                        command, port=port, cwd=path, env=project.env | env, log=log
                    ) as base:
                        authorization = f"Bearer {access_token(base, host)}"
                        headers = {"Host": host, "Authorization": authorization}
                        wrk(base + ARTICLES, headers, 1)  # warm up: connections, the cache
                        rate, errors = wrk(base + ARTICLES, headers, arguments.seconds)
                        if not ceiling:  # what this server answers when it does no work at all
                            ceiling = wrk(base + "/healthz", {}, arguments.seconds)[0]
                    rates[label].append(rate)
                    print(f"{label:<9} {rate:9.1f} req/s ({errors} responses not 2xx/3xx)")

            counting = COUNT_QUERIES.format(
                slug=slug, host=host, authorization=authorization, path=ARTICLES
            )
            cached_env = production | {"ARTICLE_LIST_CACHE_SECONDS": "30"}
            queries = project.manage("shell", "-c", counting + run, **cached_env)
        uncached, cached = median(rates["uncached"]), median(rates["cached"])
        print(f"median: uncached {uncached:.1f} req/s, cached {cached:.1f} req/s")
        print(f"ratio cached/uncached: {cached / uncached:.2f}")
        print(f"/healthz on the same server: {ceiling:.1f} req/s")
        print("one list request, a miss then a hit:")
        for line in queries.splitlines():
            if line.startswith(("miss:", "hit:")):
                print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
