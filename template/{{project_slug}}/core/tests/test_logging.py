import json
import logging

import pytest
import structlog


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
