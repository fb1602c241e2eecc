"""The database: the migrations match the models, and several threads share the test database."""

import contextvars
import threading
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connections, router, transaction

from ...accounts.models import User
from ...accounts.tests.factories import UserFactory

TIMEOUT = 10


@pytest.mark.django_db(databases="__all__")
def test_every_model_change_has_its_migration() -> None:
    """A model edited without `makemigrations` fails here, not when a deploy migrates."""
    plan = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=plan)
    except SystemExit:
        pytest.fail(
            f"Models changed without a migration (run makemigrations):\n{plan.getvalue()}",
            pytrace=False,
        )


@pytest.mark.django_db
def test_a_thread_reads_while_another_writes() -> None:
    written = threading.Event()
    read = threading.Event()
    database = router.db_for_write(User)

    def write() -> None:
        try:
            with transaction.atomic(using=database):
                UserFactory.create()
                written.set()
                read.wait(TIMEOUT)
                transaction.set_rollback(True, using=database)
        finally:
            connections.close_all()

    writer = threading.Thread(target=contextvars.copy_context().run, args=(write,))
    writer.start()
    try:
        assert written.wait(TIMEOUT), "the writer did not write"
        assert not User.objects.exists(), "a reader sees no uncommitted row and is not refused"
    finally:
        read.set()
        writer.join(TIMEOUT)
