from unittest import mock

import pytest
from django.db import OperationalError, connection
from django.test import Client


def test_healthz_answers_without_touching_the_database(client: Client) -> None:
    # No django_db mark: any database query here would fail the test.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_checks_the_database(client: Client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_503_when_the_database_is_down(client: Client) -> None:
    with mock.patch.object(connection, "cursor", side_effect=OperationalError("down")):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "failing": ["default"]}


@pytest.mark.parametrize("host", ["10.0.0.7", "unknown.example"])
def test_probes_answer_any_host(client: Client, host: str) -> None:
    # Load balancers probe by IP address, which ALLOWED_HOSTS would reject.
    assert client.get("/healthz", HTTP_HOST=host).status_code == 200
