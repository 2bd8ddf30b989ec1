"""Trace context travels from an HTTP request into the events it causes and on to their consumers."""

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from shared.tracing import current_headers, span

pytestmark = pytest.mark.unit

EXPORTED = InMemorySpanExporter()
_provider = TracerProvider()
_provider.add_span_processor(SimpleSpanProcessor(EXPORTED))
trace.set_tracer_provider(_provider)


@pytest.fixture(autouse=True)
def fresh() -> Iterator[None]:
    EXPORTED.clear()
    yield
    EXPORTED.clear()  # the global provider stays (it can be set once per process); keep nothing for later tests


def test_an_event_emitted_in_a_span_carries_it_to_its_consumer() -> None:
    with span("POST /orders"):
        carried = current_headers()  # what the outbox keeps with the event
    assert carried["traceparent"].startswith("00-")
    with span("apply order.accepted", carried):
        pass
    produced, consumed = EXPORTED.get_finished_spans()
    assert consumed.context.trace_id == produced.context.trace_id
    assert consumed.parent is not None and consumed.parent.span_id == produced.context.span_id


def test_nothing_to_carry_outside_a_trace() -> None:
    assert current_headers() == {}


async def test_a_request_continues_the_caller_s_trace_and_names_its_route() -> None:
    app = FastAPI()  # FastAPI's own telemetry makes the server span and reads the caller's traceparent

    @app.get("/orders/{order_id}")
    async def read(order_id: str) -> dict[str, str]:
        return {"inside": current_headers()["traceparent"]}

    caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc") as client:
        answer = await client.get("/orders/SO1", headers={"traceparent": caller})
    assert answer.json()["inside"].split("-")[1] == "4bf92f3577b34da6a3ce929d0e0e4736"
    [server] = [s for s in EXPORTED.get_finished_spans() if s.kind == trace.SpanKind.SERVER]
    assert server.name == "GET /orders/{order_id}" and server.context.trace_id == int(caller.split("-")[1], 16)


def test_an_outbox_row_keeps_the_trace_and_the_relay_sends_it_as_a_header() -> None:
    from types import SimpleNamespace

    from shared.clock import FixedClock
    from shared.contracts import Envelope, OrderClosed
    from shared.outbox import headers, outbox_row

    clock = FixedClock(datetime(2027, 1, 4, tzinfo=UTC))
    event = Envelope.new(OrderClosed(closed_at=clock.now()), source="order", order_id="SO1", clock=clock)
    with span("POST /orders/SO1/close"):
        row = outbox_row(event, topic="order.events", clock=clock)
    [emitting] = EXPORTED.get_finished_spans()
    assert row["traceparent"].startswith(f"00-{emitting.context.trace_id:032x}-{emitting.context.span_id:016x}-")
    sent = headers(SimpleNamespace(event_type=row["event_type"], traceparent=row["traceparent"]))
    assert sent == {"content-type": "application/json", "event-type": "order.closed", "traceparent": row["traceparent"]}
    assert "traceparent" not in headers(SimpleNamespace(event_type="order.closed", traceparent=None))
