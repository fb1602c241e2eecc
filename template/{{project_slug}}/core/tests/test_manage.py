import socket
import sys
from collections.abc import Iterator
from unittest import mock

import pytest
from django.db import connection
from pytest_django import DjangoDbBlocker

import manage


@pytest.fixture
def unreachable_database(django_db_blocker: DjangoDbBlocker) -> Iterator[int]:
    """The default connection pointed at a local port nothing listens on.

    A connection there is refused at once, so the test waits on no timeout.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    connection.close()
    with (
        django_db_blocker.unblock(),
        mock.patch.dict(connection.settings_dict, {"HOST": "127.0.0.1", "PORT": str(port)}),
    ):
        yield port
        connection.close()


def test_a_database_that_does_not_answer_is_named_with_the_fix(unreachable_database: int) -> None:
    with (
        mock.patch.object(sys, "argv", ["manage.py", "migrate"]),
        pytest.raises(SystemExit) as exit_,
    ):
        manage.main()

    message = str(exit_.value.code)
    assert f'"127.0.0.1", port {unreachable_database} failed' in message
    assert "uv run just services" in message
