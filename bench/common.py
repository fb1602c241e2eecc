"""What the benchmarks share: copying the template, seeding a project, its server, and wrk.

Every benchmark serves a generated project with its production command (includes/deploy.jinja)
and production settings on 127.0.0.1, against the machine's PostgreSQL and Redis, and seeds
the same data through the project's own services.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import copier
import yaml
from jinja2 import Environment, FileSystemLoader

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import load  # noqa: E402
from tests.load import Load  # noqa: E402
from tests.matrix import resolve  # noqa: E402
from tests.projects import Project, fresh_database  # noqa: E402

EMAIL = "bench@example.com"
PASSWORD = "bench-password-not-secret"
TENANT = "demo"

# Run by `manage.py shell -c`; `enter` (from `prepare`) calls `main` inside the tenant's
# context, if any. Prints the id of the last article.
SEED = """
from {slug}.accounts.models import User
from {slug}.articles.models import Tag
from {slug}.articles.services import article_create, article_publish, comment_create

def main():
    author = User.objects.get(email={email!r})
    tags = [Tag.objects.create(name=f"Tag {{n}}", slug=f"tag-{{n}}") for n in range(3)]
    for n in range(50):
        title, body = f"Article {{n}}", "Text " * 50
        article = article_create(author=author, title=title, body=body, tags=tags)
        article_publish(article=article)
        for c in range(2):
            comment_create(article=article, author=author, body=f"Comment {{c}}")
    print(f"ARTICLE {{article.pk}}")
"""


def parse_data(items: list[str]) -> dict[str, str]:
    """`--data question=answer` options as a dict."""
    return dict(item.split("=", 1) for item in items)


def combinations(defaults: dict[str, str], items: list[str]) -> list[dict[str, str]]:
    """Every combination of the --data values over `defaults` (comma-separated alternatives)."""
    choices = defaults | parse_data(items)
    keys = list(choices)
    return [
        dict(zip(keys, values, strict=True))
        for values in itertools.product(*(choices[key].split(",") for key in keys))
    ]


def timed[T](label: str, function: Callable[..., T], *args: Any, **kwargs: Any) -> float:
    """Call `function`, print how long it took under `label`, and return the seconds."""
    started = time.perf_counter()
    function(*args, **kwargs)
    seconds = time.perf_counter() - started
    print(f"{label:<45} {seconds:7.2f} s")
    return seconds


def run(command: list[str], cwd: Path) -> None:
    """Run `command` in `cwd` outside this checkout's virtualenv; fail if it fails."""
    env = {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"}
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)


def copy_options(data: dict[str, str], ref: str = "HEAD") -> dict[str, Any]:
    """`copier.run_copy` options for a quiet, non-interactive copy of the template at `ref`."""
    return {"data": data, "defaults": True, "unsafe": True, "vcs_ref": ref, "quiet": True}


def copy_in_two_steps(
    destination: Path, data: dict[str, str], ref: str = "HEAD"
) -> dict[str, float]:
    """Copy the template, then run its post-copy task (.env, `uv lock`) apart; time each.

    The same project as one `copier copy`: the task is the copy's last step.
    """
    template = timed(
        "copier copy, template work only",
        copier.run_copy,
        str(ROOT),
        destination,
        skip_tasks=True,
        **copy_options(data, ref),
    )
    hook = [sys.executable, str(ROOT / "hooks" / "post_generate.py")]
    task = timed("post-copy task (.env, uv lock)", run, hook, destination)
    return {"template_seconds": template, "task_seconds": task}


def answers_of(project: Path) -> dict[str, Any]:
    answers: dict[str, Any] = yaml.safe_load((project / ".copier-answers.yml").read_text())
    return answers


def deploy_include(answers: dict[str, Any]) -> Any:
    """includes/deploy.jinja as a module, with every value Copier gives it for `answers`.

    The answers file holds the answers only: Copier's computed values come from copier.yml.
    """
    context, _, _ = resolve({k: v for k, v in answers.items() if not k.startswith("_")})
    environment = Environment(loader=FileSystemLoader(ROOT), autoescape=False)
    return environment.get_template("includes/deploy.jinja").make_module(context)


def web_command(answers: dict[str, Any]) -> list[str]:
    """The production web command, exactly as includes/deploy.jinja gives it to every target."""
    return list(deploy_include(answers).web)


def server_mode(command: list[str]) -> str:
    """ "asgi" or "wsgi": which application the web command serves."""
    return "asgi" if any("asgi" in part for part in command) else "wsgi"


def bound_to_loopback(command: list[str], port: int) -> list[str]:
    """The web command from the project's virtualenv, bound to 127.0.0.1:`port`.

    The command line overrides the bind of the server's config: the bench stays on the
    loopback.
    """
    program, *options = command
    return [f".venv/bin/{program}", *options, "--bind", f"127.0.0.1:{port}"]


# How long wrk waits for an answer before it counts a timeout: long enough that a request
# queued behind 256 connections at 15 req/s (the slowest page) is a latency, not an error.
WRK_TIMEOUT_SECONDS = 30


def wrk(
    url: str,
    headers: dict[str, str],
    seconds: int,
    *,
    connections: int = 16,
    script: Path | None = None,
) -> Load:
    """tests.load.wrk with the benches' timeout."""
    return load.wrk(
        url,
        headers,
        seconds,
        connections=connections,
        timeout_seconds=WRK_TIMEOUT_SECONDS,
        script=script,
    )


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


def production_env(project: Project, port: int, **env: str) -> dict[str, str]:
    """The production settings as the bench serves them: one host, plain HTTP, one reader."""
    return project.production(
        DJANGO_ALLOWED_HOSTS="127.0.0.1,.localhost",
        TENANT_BASE_DOMAIN="localhost",
        DJANGO_SECURE_SSL_REDIRECT="false",
        JWT_ACCESS_MINUTES="60",
        # One reader sends every request: lift its rate limits, keep the throttles.
        API_THROTTLE_USER="1000000/second",
        API_THROTTLE_LOGIN="1000000/second",
        # Nothing in Redis is shared with another run (throttle counters, cached lists).
        DJANGO_CACHE_KEY_PREFIX=f"bench-{project.database}",
        PORT=str(port),
        WEB_CONCURRENCY="2",
        **env,
    )


@dataclass
class Seeded:
    """A generated project, installed, migrated and seeded, with its database."""

    project: Project
    answers: dict[str, Any]
    host: str  # the Host header that reaches the seeded tenant (or the only site)
    enter: str  # Python that calls `main()` inside the tenant's context, for `manage.py shell`
    article: int  # the id of one seeded article

    @property
    def slug(self) -> str:
        return str(self.answers["project_slug"])

    def shell(self, code: str, **env: str) -> str:
        """Run `code` (defining `main`) in `manage.py shell`, inside the tenant, if any."""
        return self.project.manage("shell", "-c", code + self.enter, **env)


@contextmanager
def seeded(path: Path, key: str) -> Iterator[Seeded]:
    """Install the project at `path`, migrate a fresh database, add the reader and 50 articles.

    Three tags on each article and two comments, all by the reader, all published.
    """
    answers = answers_of(path)
    slug = answers["project_slug"]
    with fresh_database(key) as database:
        project = Project(path, database)
        project.run("uv", "sync", "--locked", "--quiet")
        host, enter = prepare(project, answers.get("tenancy", "none"), slug)
        output = project.manage("shell", "-c", SEED.format(slug=slug, email=EMAIL) + enter)
        article = int(re.findall(r"^ARTICLE (\d+)$", output, re.MULTILINE)[-1])
        yield Seeded(project, answers, host, enter, article)
