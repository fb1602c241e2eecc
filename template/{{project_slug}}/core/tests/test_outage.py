"""While the database is unreachable, requests answer 503 with Retry-After, logged once.

The requests run on a thread of their own whose connections are refused, as they are while
the server restarts: they meet the very error an outage causes, and the test's connection,
which holds its transaction, stays as it is.
"""

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections, router
from django.http.response import HttpResponseBase
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from ...accounts.models import User
from ...accounts.tests.factories import UserFactory
from .. import errors
from .databases import refused_port, unreachable

pytestmark = pytest.mark.django_db

TIMEOUT = 10
UNAVAILABLE = {
    "detail": "The service is briefly unavailable: retry in a few seconds.",
    "code": "database_unavailable",
    "errors": {},
}


@contextlib.contextmanager
def database_away() -> Iterator[None]:
    """Until the block ends, this thread's connections to the database are refused."""
    aliases = {"default", router.db_for_read(User)}
    reachable = {alias: connections[alias] for alias in aliases}
    with refused_port() as port:
        for alias in aliases:
            connections[alias] = unreachable(alias, port)
        try:
            yield
        finally:
            for alias, wrapper in reachable.items():
                connections[alias].close()
                wrapper.close()  # as the outage ended it: the next query connects anew
                connections[alias] = wrapper


def on_its_own_connections[T](serve: Callable[[], T]) -> T:
    """Run `serve` on a thread of its own, with connections of its own."""

    def run() -> T:
        try:
            return serve()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(contextvars.copy_context().run, run).result(TIMEOUT)


@pytest.fixture
def api_client(api_client: APIClient) -> APIClient:
    """A member's client: the API reads the database for them on every request."""
    api_client.force_authenticate(UserFactory.create())
    return api_client


def test_the_api_answers_503_with_retry_after_in_its_error_shape(api_client: APIClient) -> None:
    def serve() -> HttpResponseBase:
        with database_away():
            return api_client.get("/api/v1/tags/")

    response = on_its_own_connections(serve)
    assert response.status_code == 503
    assert response["Retry-After"] == str(errors.RETRY_AFTER_SECONDS)
    assert response.json() == UNAVAILABLE  # type: ignore[attr-defined]


def test_a_page_answers_a_plain_503_page(client: Client) -> None:
    def serve() -> HttpResponseBase:
        with database_away():
            return client.post(reverse("admin:login"), {"username": "someone", "password": "-"})

    response = on_its_own_connections(serve)
    assert response.status_code == 503
    assert response["Retry-After"] == str(errors.RETRY_AFTER_SECONDS)
    assert response["Content-Type"].startswith("text/html")


def test_an_outage_is_one_warning_not_a_traceback_per_request(
    api_client: APIClient, caplog: pytest.LogCaptureFixture
) -> None:
    def serve() -> list[int]:
        api_client.get("/api/v1/tags/")  # served: whatever came before is over
        caplog.clear()
        with database_away():
            return [api_client.get("/api/v1/tags/").status_code for _ in range(3)]

    assert on_its_own_connections(serve) == [503, 503, 503]
    logged = [record for record in caplog.records if record.levelname in {"WARNING", "ERROR"}]
    assert [(record.name, record.levelname) for record in logged] == [(errors.__name__, "WARNING")]
    assert logged[0].exc_info is None
    assert logged[0].getMessage().startswith("The database is unreachable")


def test_requests_are_answered_as_before_once_the_database_is_back(
    api_client: APIClient, caplog: pytest.LogCaptureFixture
) -> None:
    def serve() -> list[int]:
        statuses = [api_client.get("/api/v1/tags/").status_code]
        for _ in range(2):
            with database_away():
                statuses.append(api_client.get("/api/v1/tags/").status_code)
            statuses.append(api_client.get("/api/v1/tags/").status_code)
        return statuses

    before, *statuses = on_its_own_connections(serve)
    assert before < 500
    assert statuses == [503, before, 503, before]
    assert [record.name for record in caplog.records].count(errors.__name__) == 2, "each outage"
