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
