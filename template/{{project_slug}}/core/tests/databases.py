"""A database that refuses connections at once, whatever database the suite runs on.

A PostgreSQL connection to a local port nothing listens on is refused straight away: the
tests of an unreachable database wait on no timeout, on PostgreSQL and on SQLite alike.
"""

import socket
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.utils import load_backend


@contextmanager
def refused_port() -> Iterator[int]:
    """A local port bound but never listening, until the block ends."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


def unreachable(alias: str, port: int) -> BaseDatabaseWrapper:
    """A connection for `alias` to a PostgreSQL on `port`, with the alias's own backend when
    that is PostgreSQL's (the tenants' one, say)."""
    current = connections[alias].settings_dict
    engine = current["ENGINE"]
    if "postgresql" not in engine:
        engine = "django.db.backends.postgresql"
    changes = {
        "ENGINE": engine,
        "NAME": "unreachable",  # a SQLite file's path may exceed PostgreSQL's 63 characters
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "OPTIONS": {},
    }
    wrapper: BaseDatabaseWrapper = load_backend(engine).DatabaseWrapper(current | changes, alias)
    return wrapper
