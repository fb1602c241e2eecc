import sys
from collections.abc import Iterator
from unittest import mock

import pytest
from django.db import DEFAULT_DB_ALIAS, connections
from pytest_django import DjangoDbBlocker

import manage

from .databases import refused_port, unreachable


@pytest.fixture
def unreachable_database(django_db_blocker: DjangoDbBlocker) -> Iterator[int]:
    """The default database swapped for one that refuses connections at once."""
    current = connections[DEFAULT_DB_ALIAS]
    with refused_port() as port, django_db_blocker.unblock():
        connections[DEFAULT_DB_ALIAS] = unreachable(DEFAULT_DB_ALIAS, port)
        try:
            yield port
        finally:
            connections[DEFAULT_DB_ALIAS].close()
            connections[DEFAULT_DB_ALIAS] = current


def test_a_database_that_does_not_answer_is_named_with_the_fix(unreachable_database: int) -> None:
    with (
        mock.patch.object(sys, "argv", ["manage.py", "migrate"]),
        pytest.raises(SystemExit) as exit_,
    ):
        manage.main()

    message = str(exit_.value.code)
    assert f'"127.0.0.1", port {unreachable_database} failed' in message
    assert "uv run just services" in message
