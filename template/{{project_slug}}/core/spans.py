"""A span processor for core/telemetry.py, imported only once tracing is on."""

from collections.abc import Callable, Sequence

from opentelemetry.context import Context
from opentelemetry.sdk.trace import Span, SpanProcessor


class ContextAttributes(SpanProcessor):
    """Every span starts with the attributes of the context it starts in (the settings'
    TRACING_CONTEXT_ATTRIBUTES), so a SQL or Redis span says whose work it was."""

    def __init__(self, sources: Sequence[Callable[[], dict[str, str]]]) -> None:
        self.sources = sources

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        for source in self.sources:
            span.set_attributes(source())
