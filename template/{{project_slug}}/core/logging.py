"""Logging helpers shared by every environment."""

import logging
from collections.abc import Mapping, MutableMapping
from typing import Any

from opentelemetry import trace

REDACTED = "[redacted]"
# A key naming any of these holds a credential: its value never reaches a log line.
SECRET_KEY_PARTS = (
    "authorization",
    "cookie",
    "csrf",
    "password",
    "secret",
    "session",
    "token",
    "api_key",
)


def is_secret(key: object) -> bool:
    name = str(key).lower().replace("-", "_")
    return any(part in name for part in SECRET_KEY_PARTS)


def redacted(value: Any) -> Any:
    """`value` with every secret-named entry of it, and of the mappings inside it, masked."""
    if isinstance(value, Mapping):
        return {key: REDACTED if is_secret(key) else redacted(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redacted(item) for item in value)
    return value


def redact_secrets(
    logger: object, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """A structlog processor: mask credentials in an event's fields (headers, payloads).

    It runs for structlog events and, through the formatter's pre-chain, for records of the
    standard library's loggers, so a header dict logged by any library is masked too.
    """
    return {key: REDACTED if is_secret(key) else redacted(item) for key, item in event_dict.items()}


def not_unavailable(record: logging.LogRecord) -> bool:
    """A logging filter for django.request: leave out its line for each 503 response.

    A 503 is answered on purpose, by code that logs the reason once (the database outage,
    a failing readiness check); a line per request would bury that reason.
    """
    return getattr(record, "status_code", None) != 503


def add_trace_ids(
    logger: object, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """A structlog processor: the trace and span a line was logged in, when traced
    (core/telemetry.py), so a log search lands on the trace."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event_dict["trace_id"] = format(context.trace_id, "032x")
        event_dict["span_id"] = format(context.span_id, "016x")
    return event_dict
