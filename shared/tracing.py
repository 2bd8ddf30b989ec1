"""One trace per order's path across the services: W3C trace context carried in HTTP and Kafka headers.

An HTTP request continues the caller's trace (its `traceparent`) or starts one (FastAPI's own
OpenTelemetry support makes the server span, named by route template); an event emitted while
handling it records the current context in its outbox row, the relay sends it as Kafka headers, and the
consumer that applies the event continues that trace. So intake, review, work orders, shipments,
invoices and the close of one order are spans of one trace.

OpenTelemetry (API and SDK, the standard); spans are exported only when configured:
`OTEL_TRACES_EXPORTER=otlp` (with the standard `OTEL_EXPORTER_OTLP_ENDPOINT`) or `console`; off by
default, when the context still travels but no span is recorded.
"""

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from opentelemetry import context, propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

log = logging.getLogger("gendan.tracing")
TRACER = "gendan"
HEADERS = ("traceparent", "tracestate")


def setup(service: str, exporter: SpanExporter | None = None) -> TracerProvider | None:
    """Record spans for this process when an exporter is configured (or given, as in tests)."""
    if exporter is None:
        chosen = os.environ.get("OTEL_TRACES_EXPORTER", "none").lower()
        if chosen == "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter()
        elif chosen == "console":
            exporter = ConsoleSpanExporter()
        else:
            return None
    provider = TracerProvider(resource=Resource.create({"service.name": f"gendan-{service}"}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    log.info("tracing on", extra={"fields": {"exporter": type(exporter).__name__}})
    return provider


def current_headers() -> dict[str, str]:
    """The current trace context as headers (empty when there is none): stored with an event at emit time."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return {k: v for k, v in carrier.items() if k in HEADERS}


@contextmanager
def span(name: str, headers: Mapping[str, str] | None = None, **attributes: str | int) -> Iterator[None]:
    """A span continuing the trace the headers carry (an event's, a request's), or the current one."""
    parent = propagate.extract(dict(headers)) if headers else context.get_current()
    token = context.attach(parent)
    try:
        with trace.get_tracer(TRACER).start_as_current_span(name, attributes=attributes):
            yield
    finally:
        context.detach(token)
