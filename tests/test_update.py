"""Tier 4: `copier update` from the last release keeps every edit a project's owner made.

Tags need not travel with a checkout, so each test builds its own template repository: the
last release (the commit releases.toml records, exported from this repository's history)
tagged as such, and the working tree, uncommitted changes included, tagged as a newer one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import copier
import pytest
import yaml
from packaging.version import Version

from .conftest import TOOL_FOLDERS, ProjectCache, mypy_cache_group, text_files
from .matrix import (
    ROOT,
    Combination,
    combinations,
    covering_combinations,
    derive,
    questions,
    resolve,
)
from .projects import Project, fresh_database, packages_in_lock, worker_venv
from .releases import last_release, project_version

pytestmark = pytest.mark.e2e

GIT_IDENTITY = ["-c", "user.name=Test", "-c", "user.email=test@example.com"]
CONFLICT_MARKER = re.compile(r"^(<<<<<<<|>>>>>>>)( |$)", re.M)


def git(cwd: Path, *arguments: str) -> str:
    result = subprocess.run(
        ["git", *GIT_IDENTITY, *arguments], cwd=cwd, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"git {' '.join(arguments)}:\n{result.stderr}"
    return result.stdout


# --- The template repository ----------------------------------------------------------------


@dataclass(frozen=True)
class TemplateRepo:
    path: Path
    old: str  # the last release's tag
    new: str  # the working tree's tag

    def questions_of(self, tag: str) -> set[str]:
        config = yaml.safe_load(git(self.path, "show", f"{tag}:copier.yml"))
        return {name for name in config if not name.startswith("_")}


def working_tree_files() -> list[Path]:
    listed = git(ROOT, "ls-files", "--cached", "--others", "--exclude-standard", "-z")
    return [Path(name) for name in listed.split("\0") if name and (ROOT / name).is_file()]


def commit_tree(repo: Path, tag: str, fill: Any) -> None:
    """Replace the repo's files with what `fill(repo)` writes, commit, and tag the commit."""
    for child in repo.iterdir():
        if child.name != ".git":
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    fill(repo)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", tag)
    git(repo, "tag", tag)


def export_commit(commit: str) -> Any:
    def fill(repo: Path) -> None:
        archive = subprocess.run(
            ["git", "archive", "--format=tar", commit], cwd=ROOT, capture_output=True, check=False
        )
        assert archive.returncode == 0, (
            f"release commit {commit} is not in this checkout: fetch the full history "
            f"(git fetch --unshallow).\n{archive.stderr.decode()}"
        )
        with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
            tar.extractall(repo, filter="data")

    return fill


def copy_working_tree(edit: Any = None) -> Any:
    def fill(repo: Path) -> None:
        for name in working_tree_files():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, repo / name)
        if edit is not None:
            edit(repo)

    return fill


def newer_version() -> Version:
    return max(Version("99.0.0"), project_version())


@pytest.fixture(scope="session")
def template_repo(tmp_path_factory: pytest.TempPathFactory) -> TemplateRepo:
    """The last release as `v<release>`, the working tree as a newer release."""
    repo = tmp_path_factory.mktemp("template")
    git(repo, "init", "-q", "-b", "main")
    release = last_release()
    commit_tree(repo, release.tag, export_commit(release.commit))
    commit_tree(repo, f"v{newer_version()}", copy_working_tree())
    return TemplateRepo(repo, release.tag, f"v{newer_version()}")


# --- Generated projects ---------------------------------------------------------------------


def copy_project(template: TemplateRepo, tag: str, destination: Path, data: dict[str, Any]) -> Path:
    known = template.questions_of(tag)
    copier.run_copy(
        str(template.path),
        destination,
        data={key: value for key, value in data.items() if key in known},
        defaults=True,
        unsafe=True,
        vcs_ref=tag,
        quiet=True,
    )
    git(destination, "init", "-q", "-b", "main")
    commit_all(destination, "copied from the template")
    return destination


def commit_all(project: Path, message: str) -> None:
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", message)


def update(project: Path, tag: str, data: dict[str, Any] | None = None) -> None:
    copier.run_update(
        project,
        data=data or {},
        defaults=True,
        overwrite=True,
        unsafe=True,
        vcs_ref=tag,
        quiet=True,
    )


def conflicted_files(project: Path) -> set[str]:
    return {
        str(path.relative_to(project))
        for path in text_files(project)
        if CONFLICT_MARKER.search(path.read_text(encoding="utf-8"))
    }


EMAIL = "kept@example.com"
PASSWORD = {"DJANGO_SUPERUSER_PASSWORD": "kept-password-1"}
# Logs that user in through the project's own login: the pages' form, or without htmx the
# headless API's.
LOG_IN = """
from django.test import Client
client = Client(HTTP_HOST="localhost")
credentials = {{{field!r}: {email!r}, "password": {password!r}}}
response = client.post({path!r}, credentials{options})
print("answer", response.status_code, {signed_in})
"""


# What the login of a project with htmx (the pages' form) and without (the headless API's)
# takes, and how each answers a user it signs in.
LOGINS = {
    True: {
        "field": "login",
        "path": "/accounts/login/",
        "options": "",
        "signed_in": '"_auth_user_id" in client.session',
        "answer": "answer 302 True",
    },
    False: {
        "field": "email",
        "path": "/_allauth/app/v1/auth/login",
        "options": ', content_type="application/json"',
        "signed_in": 'response.json()["meta"]["is_authenticated"]',
        "answer": "answer 200 True",
    },
}


def assert_user_logs_in(project: Project, context: dict[str, Any]) -> None:
    login = LOGINS[context["use_htmx"]]
    password = PASSWORD["DJANGO_SUPERUSER_PASSWORD"]
    output = project.manage(
        "shell", "--command", LOG_IN.format(email=EMAIL, password=password, **login)
    )
    assert login["answer"] in output, f"a user of the last release cannot log in:\n{output[-3000:]}"


def checked_project(project: Path, database: str) -> Project:
    """Install, check and test a project; PostgreSQL and Redis as in tier 3.

    The suite fails on a model change without its migration (core/tests/test_database.py).
    """
    checked = Project(project, database, venv=worker_venv())
    checked.run("uv", "sync", "--locked", "--quiet")
    checked.manage("check", "--fail-level", "WARNING")
    suite = str(checked.venv / "bin" / "pytest")
    output = checked.run(suite, "-p", "no:cacheprovider", "-q", "--create-db")
    assert " passed" in output
    assert " failed" not in output
    return checked


# --- The owner's typical edits --------------------------------------------------------------


def replace_line(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{path}: no line {old!r} to edit"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@dataclass(frozen=True)
class UserEdits:
    """Edits an owner makes in the first weeks, and the files they touched."""

    slug: str
    model_field = '    summary = models.CharField(_("summary"), max_length=300, blank=True)\n'
    time_zone = 'TIME_ZONE = "Europe/Paris"\n'
    title = "# Acme Platform\n"
    route_comment = "# Routes this project adds go after the example app's.\n"

    def touched(self) -> set[str]:
        return {
            f"{self.slug}/articles/models.py",
            f"{self.slug}/articles/migrations/0002_article_summary.py",
            "config/settings/base.py",
            "pyproject.toml",
            "uv.lock",
            "README.md",
            "config/api.py",
            "config/api_router.py",
        }

    def apply(self, project: Project) -> None:
        path = project.path
        replace_line(
            path / self.slug / "articles/models.py",
            "    updated = models.DateTimeField(auto_now=True)\n",
            "    updated = models.DateTimeField(auto_now=True)\n" + self.model_field,
        )
        project.run("uv", "sync", "--locked", "--quiet")
        project.manage("makemigrations", "articles", "--name", "article_summary")
        replace_line(path / "config/settings/base.py", 'TIME_ZONE = "UTC"\n', self.time_zone)
        # A dependency that sorts where this release adds none: a neighbour of a line the
        # template changes would be a real (and correct) conflict.
        project.run("uv", "add", "--no-sync", "--quiet", "rich>=13")
        readme = path / "README.md"
        readme.write_text(self.title + readme.read_text().split("\n", 1)[1])
        router = next(
            p for p in (path / "config/api_router.py", path / "config/api.py") if p.exists()
        )
        replace_line(router, "\nurlpatterns = [\n", f"\n{self.route_comment}urlpatterns = [\n")

    def assert_kept(self, project: Path, migration: str) -> None:
        assert self.model_field in (project / self.slug / "articles/models.py").read_text()
        migration_path = project / self.slug / "articles/migrations/0002_article_summary.py"
        assert migration_path.read_text() == migration, "the user's migration changed"
        assert self.time_zone in (project / "config/settings/base.py").read_text()
        assert '"rich>=13' in (project / "pyproject.toml").read_text()
        assert 'name = "rich"' in (project / "uv.lock").read_text()
        assert (project / "README.md").read_text().startswith(self.title)
        assert self.route_comment in (project / "config/api_router.py").read_text()
        assert not (project / "config/api.py").exists(), "config/api.py was renamed"


# --- Which combinations ---------------------------------------------------------------------


# Choice questions a project may change its mind about after the first copy (tenancy and the
# cloud are decided once: switching them means moving data or infrastructure).
SWITCHED_CHOICES = {"django_version", "server"}


def switches() -> list[tuple[str, Any, Combination]]:
    """Each boolean question, django_version and server, switched away from its default.

    Starts from the first combination of the matrix in which the question is asked.
    """
    matrix = derive()
    result = []
    for question in questions():
        values = question.values
        if question.computed or values is None:
            continue
        if question.spec.get("type") != "bool" and question.name not in SWITCHED_CHOICES:
            continue
        start = next(c for c in matrix.combinations if question.name in dict(c.data))
        current = dict(start.data)[question.name]
        result.extend((question.name, value, start) for value in values if value != current)
    return result


def beyond_defaults(template: TemplateRepo, data: dict[str, Any]) -> bool:
    """Whether `data` answers a question the last release did not ask with a non-default value.

    That is more than a plain `copier update --defaults`: it may switch on a feature that
    changes the database (tenancy) and so rewrites migrations, which a project with data has
    to plan for. A plain update must never rewrite a migration.
    """
    defaults, _, _ = resolve({})
    known = template.questions_of(template.old)
    return any(key not in known and value != defaults[key] for key, value in data.items())


# --- Tests ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "combination",
    [pytest.param(c, id=c.id, marks=pytest.mark.xdist_group(f"update-{c.id}"))
     for c in covering_combinations()],
)  # fmt: skip
def test_update_from_last_release_keeps_user_edits(
    template_repo: TemplateRepo, combination: Combination, tmp_path: Path
) -> None:
    data = combination.as_data()
    context, _, _ = resolve(data)
    project_path = copy_project(template_repo, template_repo.old, tmp_path / "project", data)
    with fresh_database(f"update-{combination.id}") as database:
        project = Project(project_path, database, venv=worker_venv())
        edits = UserEdits(context["project_slug"])
        edits.apply(project)
        commit_all(project_path, "the owner's edits")
        # A user of the last release, who must still log in after the update. (An update
        # that adds tenancy starts the tenants afresh: there is nobody to carry over.)
        keeps_users = context["tenancy"] == "none"
        if keeps_users:
            project.manage("migrate", "--no-input")
            project.manage("createsuperuser", "--no-input", "--email", EMAIL, **PASSWORD)
        migration = (
            project_path / edits.slug / "articles/migrations/0002_article_summary.py"
        ).read_text()
        secret = (project_path / ".env").read_text()

        update(project_path, template_repo.new, data)

        edits.assert_kept(project_path, migration)
        conflicts = conflicted_files(project_path)
        assert conflicts <= edits.touched(), (
            f"conflicts in files the user never touched: {conflicts}"
        )
        assert not list(project_path.rglob("*.rej")), "a patch was rejected"
        assert (project_path / ".env").read_text() == secret, ".env changed"
        rewritten = git(project_path, "diff", "--name-only", "--diff-filter=MD", "HEAD", "--")
        migrations = [name for name in rewritten.split() if "/migrations/" in name]
        if not beyond_defaults(template_repo, data):
            assert not migrations, (
                f"a plain update rewrote migrations the project has applied: {migrations}"
            )
        answers = yaml.safe_load((project_path / ".copier-answers.yml").read_text())
        assert answers["_commit"] == template_repo.new
        assert {key: answers[key] for key in data} == data
        checked = checked_project(project_path, database)
        checked.run("uv", "lock", "--check")
        if keeps_users:
            checked.manage("migrate", "--no-input")
            assert_user_logs_in(checked, context)
    print(
        f"\n{combination.id}: conflicts in {sorted(conflicts) or 'no file'};"
        f" migrations rewritten: {migrations or 'none'}"
    )


def switched(start: Combination, question: str, value: Any) -> Combination:
    """The combination of the matrix `start` becomes with `question` answered `value`.

    An update keeps the other answers, and drops those of questions no longer asked (the
    validators refuse those only when given on the command line).
    """
    _, asked, _ = resolve(start.as_data() | {question: value})
    combination = Combination(tuple(asked.items()))
    assert combination in set(combinations()), f"{combination.id} is not in the matrix"
    return combination


# What differs between two copies with the same answers (besides git's and the tools'
# folders): the answers file records where each was copied from, `.env` a secret of its own.
PER_COPY = {".copier-answers.yml", ".env"}


def files_by_name(project: Path) -> dict[str, bytes]:
    return {
        path.relative_to(project).as_posix(): path.read_bytes()
        for path in project.rglob("*")
        if path.is_file()
        and path.name not in PER_COPY
        and not TOOL_FOLDERS.intersection(path.relative_to(project).parts)
    }


@pytest.mark.parametrize(
    ("question", "value", "start"),
    [pytest.param(q, v, s, id=f"{q}={v}",
                  marks=pytest.mark.xdist_group(mypy_cache_group(switched(s, q, v))))
     for q, v, s in switches()],
)  # fmt: skip
def test_update_switches_an_answer_and_back(
    template_repo: TemplateRepo,
    projects: ProjectCache,
    question: str,
    value: Any,
    start: Combination,
    tmp_path: Path,
) -> None:
    """Switched by `copier update`, a project is the very project `copier copy` makes with the
    new answer, which the project tier installs, checks and tests; switched back, the one it
    was. Its group's worker already holds that copy."""
    data = start.as_data()
    project_path = copy_project(template_repo, template_repo.new, tmp_path / "project", data)
    update(project_path, template_repo.new, {question: value})
    answers = yaml.safe_load((project_path / ".copier-answers.yml").read_text())
    combination = switched(start, question, value)
    assert {key: answers.get(key) for key, _ in combination.data} == combination.as_data()
    assert not conflicted_files(project_path)
    copied = files_by_name(projects.get(combination))
    updated = files_by_name(project_path)
    assert sorted(updated) == sorted(copied)
    differing = [name for name in sorted(updated) if updated[name] != copied[name]]
    # uv keeps the forks an earlier lock had (resolution markers), with the same packages.
    if "uv.lock" in differing:
        assert packages_in_lock(updated["uv.lock"].decode()) == packages_in_lock(
            copied["uv.lock"].decode()
        ), "an update locks other packages than a copy"
        differing.remove("uv.lock")
    assert not differing, f"switched by an update, these files differ from a copy: {differing}"
    commit_all(project_path, f"{question}={value}")

    update(project_path, template_repo.new, {question: data[question]})
    git(project_path, "add", "-A")
    changed = git(project_path, "diff", "--cached", "--stat", "HEAD~1", "--")
    assert not changed, f"switching {question} back left changes:\n{changed}"


def test_a_line_both_sides_changed_is_an_inline_conflict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Never a silent overwrite; the generated git hooks refuse to commit the markers."""
    title = "# {{ project_name }}\n"

    def template_edit(repo: Path) -> None:
        replace_line(
            repo / "template/README.md.jinja", title, "# {{ project_name }}, by the template\n"
        )

    repo = tmp_path / "template"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commit_tree(repo, "v1.0.0", copy_working_tree())
    commit_tree(repo, "v1.1.0", copy_working_tree(template_edit))
    template = TemplateRepo(repo, "v1.0.0", "v1.1.0")
    project = copy_project(template, "v1.0.0", tmp_path / "project", {})
    readme = project / "README.md"
    readme.write_text("# My SaaS, by its owner\n" + readme.read_text().split("\n", 1)[1])
    commit_all(project, "the owner's title")

    update(project, template.new)

    assert conflicted_files(project) == {"README.md"}
    assert readme.read_text().startswith(
        "<<<<<<< before updating\n# My SaaS, by its owner\n=======\n"
        "# My SaaS, by the template\n>>>>>>> after updating\n"
    )
    assert git(project, "diff", "--name-only", "--diff-filter=U") == "README.md\n"

    monkeypatch.setenv("PRE_COMMIT_HOME", str(tmp_path / "pre-commit"))
    pre_commit = Path(sys.executable).parent / "pre-commit"
    subprocess.run([pre_commit, "install"], cwd=project, check=True, capture_output=True)

    def commit(message: str) -> subprocess.CompletedProcess[str]:
        git(project, "add", "-A")
        return subprocess.run(
            ["git", *GIT_IDENTITY, "commit", "-q", "-m", message],
            cwd=project, capture_output=True, text=True, check=False,
        )  # fmt: skip

    refused = commit("update with the markers left in")
    assert refused.returncode != 0
    assert "refuse merge-conflict markers" in refused.stdout + refused.stderr

    readme.write_text(
        "# My SaaS, by its owner\n" + readme.read_text().split(">>>>>>> after updating\n", 1)[1]
    )
    (project / "README.md.rej").write_text("@@ a hunk a patch could not place @@\n")
    refused = commit("update with a .rej file")
    assert refused.returncode != 0
    assert "refuse .rej and .orig files" in refused.stdout + refused.stderr

    (project / "README.md.rej").unlink()
    accepted = commit("update to v1.1.0, conflict resolved")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr


def test_untouched_project_sees_and_takes_the_newer_release(
    template_repo: TemplateRepo, tmp_path: Path
) -> None:
    """`copier check-update` reports the release; updating a project nobody edited is clean."""
    project = copy_project(template_repo, template_repo.old, tmp_path / "project", {})
    result = subprocess.run(
        [sys.executable, "-m", "copier", "check-update", "--output-format", "json"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        env=os.environ | {"NO_COLOR": "1"},
    )
    report = json.loads(result.stdout)
    assert report["update_available"] is True, result.stdout + result.stderr
    assert Version(report["current_version"]) == Version(template_repo.old)
    assert Version(report["latest_version"]) == Version(template_repo.new)

    secret = (project / ".env").read_text()
    update(project, template_repo.new)
    assert not conflicted_files(project)
    assert not git(project, "diff", "--name-only", "--diff-filter=U"), "a file is conflicted"
    assert (project / ".env").read_text() == secret
