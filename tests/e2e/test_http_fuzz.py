"""Every HTTP operation of every service, fuzzed from its OpenAPI document: no request gets a 5xx or a reset.

Schemathesis generates requests that fit each operation's schema and requests that break it, NUL
characters included. It seldom gets an order past validation, so orders that are good but for their
free text (any text UTF-8 can carry) are posted too. The hand-written requests send what neither
does: bytes that are not UTF-8, lone surrogates, huge values and bodies over the limit, declared or
streamed; each must get a 4xx that says why.
"""

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.core.result import Ok

from deploy.infra import Servers
from deploy.system import SERVICES, System
from tests.conftest import started_system
from tests.e2e.flows import order_body

pytestmark = pytest.mark.e2e

EXAMPLES = 40  # per operation and mode: enough to reach every parameter, few enough for CI
GENERATION = {"generation": {"allow-x00": True, "codec": "utf-8"}}  # NUL and any other character UTF-8 can carry
HYPOTHESIS = settings(
    max_examples=EXAMPLES, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck)
)
TEXT = st.text(st.characters(codec="utf-8"), min_size=1, max_size=80)
"""Any text UTF-8 can carry, NUL and other control characters included."""
MAX_BODY = 1024 * 1024  # ServiceSettings.max_body_bytes


def send(case: Case, headers: dict[str, str]) -> None:
    """Send one generated request (signed in as a supervisor, so it reaches every route's own checks); a 5xx, a
    reset or a hang fails, with a curl line to replay it."""
    try:
        response = case.call(timeout=30, headers=headers)
    except requests.RequestException as error:
        raise AssertionError(f"{error!r}\n{case.as_curl_command()}") from None
    assert response.status_code < 500, f"{response.status_code} {response.text[:500]}\n{case.as_curl_command()}"


def fuzz(operation: APIOperation, mode: GenerationMode, headers: dict[str, str]) -> str | None:
    """Send requests of one mode to one operation; the smallest failing one, if any."""

    @HYPOTHESIS
    @given(case=operation.as_strategy(generation_mode=mode))
    def no_server_error(case: Case) -> None:
        send(case, headers)

    try:
        no_server_error()
    except Unsatisfiable:  # nothing in this operation's schema to break
        pass
    except AssertionError as error:
        return f"{operation.label} ({mode.value}): {error}"
    return None


def fuzz_service(base_url: str, headers: dict[str, str]) -> list[str]:
    """Fuzz every operation of one service with requests that fit its schema and requests that break it."""
    config = schemathesis.Config.from_dict(GENERATION)
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json", config=config)
    failures = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result.err()  # an operation schemathesis cannot read is a broken document
        failures += [failure for mode in GenerationMode if (failure := fuzz(result.ok(), mode, headers))]
    return failures


@pytest.fixture(scope="module")
async def fuzzed(infra: Servers, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[System]:
    """A system of its own: the fuzzer writes random masters and review departments, which must not
    reach the orders of the tests sharing the other system."""
    async with started_system(infra, tmp_path_factory.mktemp("fuzzed-system"), 0.02) as sys_:
        yield sys_


@pytest.mark.parametrize("service", SERVICES)
async def test_generated_requests_get_no_server_error(fuzzed: System, service: str) -> None:
    failures = await asyncio.to_thread(fuzz_service, fuzzed.url(service), fuzzed.headers())
    assert not failures, "\n\n".join(failures)


def take_in_orders(base_url: str, headers: dict[str, str]) -> None:
    """Post good orders whose names, reference, address and product are any text: each taken in or refused."""
    with httpx.Client(base_url=base_url, timeout=30, headers=headers) as client:

        @HYPOTHESIS
        @given(customer=TEXT, ref=TEXT, address=TEXT, contact=TEXT, product=TEXT)
        def taken_in_or_refused(customer: str, ref: str, address: str, contact: str, product: str) -> None:
            text = {"customer": customer, "external_ref": ref, "delivery_address": address, "contact": contact}
            response = client.post("/orders", json=with_product(product) | text)
            assert response.status_code in (200, 201, 409, 422), f"{response.status_code} {response.text[:500]}"

        taken_in_or_refused()


async def test_orders_with_any_text_are_taken_in_or_refused(fuzzed: System) -> None:
    await asyncio.to_thread(take_in_orders, fuzzed.url("order"), fuzzed.headers())


def hostile_requests(system: System) -> Iterator[tuple[str, httpx.Request]]:
    """Requests a careless or hostile client sends, each named; every one must get a 4xx with a reason."""
    order, production = system.url("order"), system.url("production")
    logistics, billing = system.url("logistics"), system.url("billing")
    yield "NUL in path", httpx.Request("GET", f"{order}/orders/%00")
    yield "lone surrogate in path", httpx.Request("GET", f"{order}/orders/%ED%A0%80")
    yield "NUL in query", httpx.Request("GET", f"{production}/work-orders?order_id=%00")
    yield "lone surrogate in query", httpx.Request("GET", f"{production}/work-orders?order_id=%ED%A0%80")
    yield "byte that is not UTF-8 in query", httpx.Request("GET", f"{logistics}/shipments?order_id=%FF")
    yield "overlong UTF-8 in query", httpx.Request("GET", f"{billing}/invoices?order_id=%C0%AF")
    yield "control character in query", httpx.Request("GET", f"{order}/orders?status=%1B")
    yield "huge path parameter", httpx.Request("GET", f"{order}/orders/{'x' * 20_000}")
    yield "huge string in query", httpx.Request("GET", f"{order}/orders", params={"status": "x" * 50_000})
    yield "huge integer in query", httpx.Request("GET", f"{order}/orders", params={"limit": "9" * 5_000})
    yield "NUL in body", post(f"{order}/orders", json.dumps(with_product("\u0000")).encode())
    yield "lone surrogate in body", post(f"{order}/orders", json.dumps(with_product("\ud800")).encode())
    yield "lone surrogate in a list", post(f"{billing}/outbox/set-aside/retry", b'["\\udc80"]')
    yield "bytes that are not UTF-8 in body", post(f"{order}/orders", b'{"customer": "\xff\xfe\xed\xa0\x80"}')
    yield "huge string in body", post(f"{order}/orders", json.dumps(with_product("x" * 900_000)).encode())
    yield "integer beyond 64 bits in body", post(f"{production}/outbox/set-aside/retry", b"[%d]" % 2**70)
    yield "deeply nested body", post(f"{order}/orders", b"[" * 200_000 + b"]" * 200_000)
    yield "5 MB body", post(f"{order}/orders", b"x" * 5_000_000)
    yield "streamed body over the limit", post(f"{logistics}/outbox/set-aside/retry", chunks(MAX_BODY * 2))


def with_product(product: str) -> dict[str, Any]:
    """A good order whose first line names `product`."""
    body = order_body(1)
    body["lines"][0]["product"] = product
    return body


def post(url: str, content: bytes | AsyncIterator[bytes]) -> httpx.Request:
    """A JSON POST of raw bytes, sent as they are."""
    return httpx.Request("POST", url, content=content, headers={"content-type": "application/json"})


async def chunks(total: int, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    """A body of `total` bytes sent chunked, without a Content-Length."""
    for _ in range(total // size):
        yield b"7" * size


async def test_hostile_requests_get_a_4xx_with_a_reason(fuzzed: System) -> None:
    failures = []
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_keepalive_connections=0)) as client:
        for name, request in hostile_requests(fuzzed):
            request.headers.update(fuzzed.headers())  # signed in: the request reaches the route's own checks
            try:
                response = await client.send(request)
            except httpx.TransportError as error:
                failures.append(f"{name}: {request.method} {request.url} -> {error!r}")
                continue
            if not (400 <= response.status_code < 500 and "detail" in json_or_empty(response)):
                failures.append(f"{name}: {request.method} {request.url} -> {response.status_code} {response.text}")
    assert not failures, "\n".join(failures)


def json_or_empty(response: httpx.Response) -> Any:
    """The JSON body, or {} when the body is not JSON."""
    try:
        return response.json()
    except ValueError:
        return {}
