import json
import logging

import pytest
import structlog
from django.test import Client


def json_line(record: logging.LogRecord) -> dict[str, object]:
    # The test settings keep production's JSON format: this is what log shippers read.
    formatted = logging.getLogger().handlers[0].format(record)
    return dict(json.loads(formatted))


def test_standard_log_records_are_json_objects() -> None:
    record = logging.LogRecord("orders", logging.WARNING, __file__, 1, "paid %s", ("42",), None)
    line = json_line(record)
    assert line["event"] == "paid 42"
    assert line["level"] == "warning"
    assert line["logger"] == "orders"
    assert "timestamp" in line


def test_structlog_events_keep_their_fields(caplog: pytest.LogCaptureFixture) -> None:
    structlog.get_logger("orders").warning("order paid", order_id=42)
    line = json_line(caplog.records[0])
    assert line["event"] == "order paid"
    assert line["order_id"] == 42


def test_credentials_never_reach_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    structlog.get_logger("auth").warning(
        "login",
        email="ada@example.com",
        password="hunter2",
        refresh_token="eyJ.refresh",
        headers={"Authorization": "Bearer eyJ.access", "Cookie": "sessionid=abc", "Accept": "*/*"},
        attempts=[{"csrfmiddlewaretoken": "xyz"}],
    )
    line = json_line(caplog.records[0])
    text = json.dumps(line)
    for secret in ("hunter2", "eyJ", "sessionid=abc", "xyz"):
        assert secret not in text
    assert line["email"] == "ada@example.com"
    assert line["password"] == "[redacted]"
    assert line["headers"] == {
        "Authorization": "[redacted]",
        "Cookie": "[redacted]",
        "Accept": "*/*",
    }


def request_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    lines = [json_line(record) for record in caplog.records]
    return [line for line in lines if line["event"] == "request"]


@pytest.mark.django_db
def test_each_request_is_one_line_without_its_query_string(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        listed = client.get("/api/v1/articles/", {"search": "private words"})
        missing = client.get("/api/v1/no-such-thing/")
    first, second = request_lines(caplog)
    assert first["method"] == "GET"
    assert first["path"] == "/api/v1/articles/"
    assert first["status"] == listed.status_code
    assert isinstance(first["duration_ms"], float)
    assert "private" not in json.dumps(first), "a query string may carry search terms, tokens"
    assert (second["path"], second["status"]) == ("/api/v1/no-such-thing/", missing.status_code)
    assert listed.status_code != missing.status_code


@pytest.mark.django_db
def test_probes_are_not_logged(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        assert client.get("/healthz").status_code == 200
    assert request_lines(caplog) == []
