"""Trace context travels from an HTTP request into the events it causes and on to their consumers."""

from collections.abc import Iterator

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
