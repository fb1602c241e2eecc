"""Tier 4: a Celery worker killed mid-task loses nothing and repeats nothing.

One combination, run as production runs its worker: a real worker process (prefork, one
child) on the project's own Redis database and a fresh PostgreSQL database. Publishing an
article queues the notification task; its email backend (written here into the project)
marks each send it starts, then takes a few seconds. The test kills the worker's whole
process group with SIGKILL once a send has started, starts a new worker, and waits: the
message, never acknowledged, comes back after the broker's visibility timeout, the task
runs again, and in the end exactly one email went out and one Notification row records it.
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import ProjectCache
from .matrix import Combination, combinations, resolve
from .projects import Project, fresh_database
from .servers import celery_worker, eventually

pytestmark = pytest.mark.e2e

# Short limits make a short visibility timeout (twice the longest limit): the killed task's
# message is handed out again after 12 s, not the production default of 20 minutes.
TIME_LIMIT = 6
FIRST_SEND_SECONDS = 4  # below the soft limit (5 s): the kill, not a limit, ends the first run
LATER_SEND_SECONDS = 0.2

SLOW_BACKEND = '''"""The fault test's email backend: marks each send it starts, then waits."""

import os
import time
import uuid
from pathlib import Path

from django.core.mail.backends.filebased import EmailBackend


class SlowEmailBackend(EmailBackend):
    def send_messages(self, messages):
        Path(self.file_path, f"started-{uuid.uuid4().hex}").touch()
        time.sleep(float(os.environ["SLOW_MAIL_SECONDS"]))
        return super().send_messages(messages)
'''

# The worker looks for messages to hand out again every 100 s by default (ten sweeps of
# 10 s): every second here, so the test waits for the visibility timeout, not the sweep.
SETTINGS = """from .dev import *  # noqa: F403

CELERY_BROKER_TRANSPORT_OPTIONS |= {{"unacked_restore_interval": 1, "unacked_restore_throttle": 1}}
MAILERS = {{
    "default": {{
        "BACKEND": "slow_mail.SlowEmailBackend",
        "OPTIONS": {{"file_path": {outbox!r}}},
    }},
}}
"""


def the_combination() -> Combination:
    return next(
        combination
        for combination in combinations()
        if (answers := resolve(combination.as_data())[0])["tenancy"] == "shared"
        and answers["django_version"] == "6.1"
        and answers["use_celery"]
        and answers["cloud"] == "fly"
    )


def test_a_worker_killed_mid_task_still_sends_exactly_once(
    projects: ProjectCache, tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    combination = the_combination()
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    with fresh_database(combination.id) as database:
        project = Project(projects.get(combination), database)
        slug = next(project.path.glob("*/notifications")).parent.name
        (project.path / "slow_mail.py").write_text(SLOW_BACKEND)
        (project.path / "config/settings/fault.py").write_text(SETTINGS.format(outbox=str(outbox)))
        env = {
            "DJANGO_SETTINGS_MODULE": "config.settings.fault",
            "CELERY_TASK_TIME_LIMIT": str(TIME_LIMIT),
            "CELERY_SLOW_TASK_TIME_LIMIT": str(TIME_LIMIT),
        }
        project.run("uv", "sync", "--locked", "--quiet")
        project.manage("migrate_tenants", **env)
        project.run(".venv/bin/celery", "--app", "config.celery:app", "purge", "--force", **env)

        log = tmp_path / "first-worker.log"
        slow = {"SLOW_MAIL_SECONDS": str(FIRST_SEND_SECONDS)}
        with celery_worker(project.path, project.env | env | slow, log) as first:
            project.manage("shell", "--command", publish(slug), **env)
            eventually(lambda: any(outbox.glob("started-*")), "a send starts", first, log)
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(timeout=10)
        assert not list(outbox.glob("*.log")), "the first send finished before the kill"

        log = tmp_path / "second-worker.log"
        slow = {"SLOW_MAIL_SECONDS": str(LATER_SEND_SECONDS)}
        with celery_worker(project.path, project.env | env | slow, log) as second:
            redelivered = eventually(
                lambda: any(outbox.glob("*.log")), "the task runs again and sends", second, log
            )
            # Let any second delivery show itself before counting.
            time.sleep(2 * LATER_SEND_SECONDS + 1)
            rows = project.manage("shell", "--command", count_notifications(slug), **env)

    emails = list(outbox.glob("*.log"))
    starts = list(outbox.glob("started-*"))
    counted = re.search(r"^\d+ sent of \d+$", rows, re.M)
    assert counted, rows
    record_property(
        "celery fault",
        f"worker SIGKILLed mid-send; the task ran again {redelivered:.1f} s after a new worker "
        f"started; {len(starts)} sends started, {len(emails)} email, notifications: "
        f"{counted.group(0)}",
    )
    assert len(starts) == 2, f"{len(starts)} sends started: the task should run exactly twice"
    assert len(emails) == 1
    assert emails[0].read_text().count("Subject: Published: Killed mid-send") == 1
    assert counted.group(0) == "1 sent of 1"


def publish(slug: str) -> str:
    """Python for `manage.py shell`: an author publishes an article in a new tenant."""
    return f"""
from {slug}.accounts.models import User
from {slug}.articles.services import article_create, article_publish
from {slug}.tenants.context import tenant_context
from {slug}.tenants.models import Tenant

tenant = Tenant.objects.create(slug="fault", name="Fault")
with tenant_context(tenant):
    author = User.objects.create_user(email="author@example.com")
    article_publish(article=article_create(author=author, title="Killed mid-send"))
"""


def count_notifications(slug: str) -> str:
    return f"""
from {slug}.notifications.models import Notification

rows = Notification._base_manager.all()
print(rows.filter(sent_at__isnull=False).count(), "sent of", rows.count())
"""
