"""Hostile input against every contract: refused naming the field, or accepted clean, fitting and round-tripping.

A careless partner can send anything: text with NUL, lone surrogates or control characters, text far
too long, numbers that are NaN, infinite or written with huge exponents, dates at the ends of the
calendar, times without a zone. Each property puts one such value into one field of an otherwise
valid message, as Python objects and as the JSON a partner sends.
"""

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from functools import partial
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import HealthCheck, given, note, settings, target
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from shared.clock import FixedClock
from shared.contracts import (
    CarrierTracking,
    Envelope,
    ErpOrder,
    FinancePayment,
    Installment,
    MesEvent,
    OrderAccepted,
    OrderLine,
    OrderTerms,
    SupplierEvent,
    WmsEvent,
)
from shared.errors import Unpublishable
from shared.fields import EARLIEST, LATEST, clean_text, scrub
from shared.outbox import MAX_EVENT_BYTES, outbox_row

pytestmark = pytest.mark.unit

Path = tuple[str | int, ...]

HYPOTHESIS = settings(
    database=None,
    derandomize=True,
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example, HealthCheck.data_too_large],
)
CLOCK = FixedClock(datetime(2027, 1, 4, 8, 0, tzinfo=UTC))
INT4 = 2**31 - 1  # PostgreSQL `integer`, the column of every count and quantity
DECIMAL_DIGITS = 18  # the most digits any decimal field declares (money)

# --- one valid message per contract -----------------------------------------------------

AT = "2027-01-04T08:00:00+08:00"
LINE: dict[str, Any] = {
    "line_no": 1,
    "product": "GX-1",
    "spec": "stainless, M8",
    "quantity": 10_000_000,
    "unit_price": "12.35",
    "make_or_buy": "make",
}
TERMS: dict[str, Any] = {
    "customer": "ACME Industrial",
    "external_ref": "PO-1",
    "currency": "USD",
    "delivery_date": "2027-02-15",
    "payment_terms": {
        "installments": [
            {"trigger": "acceptance", "percent": "30", "net_days": 0},
            {"trigger": "delivery", "percent": "70", "net_days": 30},
        ]
    },
    "delivery_address": "88 Harbour Road, Shenzhen",
    "destination_country": "CN",
    "contact": "purchasing@acme.example",
    "lines": [LINE],
}
PARTNER: dict[str, Any] = {"message_id": "m-1", "occurred_at": AT}
VALID: dict[type[BaseModel], dict[str, Any]] = {
    OrderLine: LINE,
    OrderTerms: TERMS,
    ErpOrder: {**PARTNER, **TERMS},
    MesEvent: {
        **PARTNER,
        "type": "completed",
        "work_order_id": "WO1",
        "operation": "drilling",
        "good_quantity": 9,
        "scrap_quantity": 1,
    },
    SupplierEvent: {
        **PARTNER,
        "type": "inspected",
        "purchase_order_id": "PO1",
        "quantity": 40,
        "passed": True,
        "note": "3 cartons re-labelled",
    },
    WmsEvent: {**PARTNER, "type": "packed", "order_id": "SO1", "quantity": 10, "packages": 2, "weight_kg": "40.5"},
    CarrierTracking: {
        **PARTNER,
        "carrier": "deppon",
        "tracking_number": "GD1",
        "status": "delivered",
        "location": "Shenzhen",
        "received_quantity": 10,
        "exception_code": None,
        "remark": "left at the gate",
    },
    FinancePayment: {**PARTNER, "invoice_number": "INV-SO1-1", "amount": "40.75", "currency": "USD"},
}


def _paths(model: type[BaseModel]) -> list[Path]:
    """Every field of a contract, and the fields of its first order line and installment."""
    paths: list[Path] = [(name,) for name in model.model_fields]
    if issubclass(model, OrderTerms):
        paths += [("lines", 0, name) for name in OrderLine.model_fields]
        paths += [("payment_terms", "installments", 0, name) for name in Installment.model_fields]
    return paths


CASES = [
    pytest.param(model, path, id=f"{model.__name__}.{'.'.join(map(str, path))}")
    for model in VALID
    for path in _paths(model)
]

# --- what a careless partner sends ------------------------------------------------------

REFUSED_CHARS = "\x00\x01\x07\x08\x0b\x0c\x0e\x1b\x1f\x7f\ud800\udbff\udc00\udfff"
ODD_CHARS = "\t\n\r \x85\xa0\u200b\u200f\u202e\u2028\ufeff\ufffd\U0010ffff\u0301😀中ع"
CHAR = st.characters(codec=None, exclude_categories=()) | st.sampled_from(REFUSED_CHARS + ODD_CHARS)
LENGTHS = (1, 2, 63, 64, 65, 99, 100, 101, 199, 200, 201, 499, 500, 501, 1999, 2000, 2001, 100_000)
LOOKALIKES = ("", " ", "USD", "usd", "XTS", "EUR", "CN", "cn", "XK", "make", "buy", "packed", "delivered")
NUMBER_WORDS = ("completed", "acceptance", "NaN", "-Infinity", "1e999", "-1", "0E-30000", "2100-12-31")


def _repeat(seed: str, length: int) -> str:
    """`seed` repeated to exactly `length` characters."""
    return (seed * length)[:length]


def _padded(value: Decimal, zeros: int) -> Decimal:
    """The same number written with `zeros` more trailing zeros, e.g. 1.5 as 1.5000."""
    sign, digits, exponent = value.as_tuple()
    return Decimal((sign, (*digits, *(0,) * zeros), int(exponent) - zeros))


def _zero(exponent: int) -> Decimal:
    """Zero written with an exponent, e.g. 0E-30 (what Decimal('0.000…') prints as)."""
    return Decimal((0, (0,), exponent))


TEXT = st.one_of(
    st.text(CHAR, max_size=20),
    st.text(CHAR, min_size=60, max_size=2100),
    st.builds(_repeat, st.text(CHAR, min_size=1, max_size=3), st.sampled_from(LENGTHS)),
    st.sampled_from(LOOKALIKES + NUMBER_WORDS),
)
INTEGERS = st.integers() | st.sampled_from(
    [0, -1, 366, 10_000, 10_001, 10_000_000, 10_000_001, 2_000_000_000, 2_000_000_001, 2**31, 2**63, 10**100]
)
ODD_DECIMALS = ("NaN", "-NaN", "sNaN", "Infinity", "-Infinity", "-0", "1E+999999999", "1E-999999999", "-0.01")
DECIMALS = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True),
    st.sampled_from([Decimal(text) for text in ODD_DECIMALS]),
    st.sampled_from([Decimal("9999999999999999.99"), Decimal("10000000000000000"), Decimal("0.001")]),
    st.builds(_padded, st.decimals(0, 10**6, places=2), st.integers(0, 20_000)),
    st.builds(_zero, st.integers(-40_000, 40_000)),
)
OFFSETS = st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(lambda minutes: timezone(timedelta(minutes=minutes)))
CALENDAR_ENDS = [date.min, date.max, EARLIEST, LATEST, EARLIEST - timedelta(days=1), LATEST + timedelta(days=1)]
DATES = st.dates() | st.sampled_from(CALENDAR_ENDS)
DATETIMES = st.one_of(
    st.datetimes(),
    st.datetimes(timezones=OFFSETS),
    st.sampled_from([datetime.min, datetime.max, datetime.max.replace(tzinfo=UTC), datetime(2100, 12, 31, 23, 59)]),
)
HOSTILE = st.one_of(
    TEXT,
    INTEGERS,
    DECIMALS,
    st.floats(),
    DATES,
    DATETIMES,
    DATES.map(date.isoformat),
    DATETIMES.map(datetime.isoformat),
    st.none(),
    st.booleans(),
)

# --- the properties ---------------------------------------------------------------------


def _put(body: dict[str, Any], path: Path, value: Any) -> dict[str, Any]:
    """A copy of `body` with `value` at `path`."""
    copied: Any = json.loads(json.dumps(body))
    node = copied
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return dict(copied)


def _json_value(value: Any) -> Any:
    """How a partner's JSON writer spells what `json` cannot: decimals and times as strings."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def _as_json(body: dict[str, Any]) -> bytes:
    """The message as a partner would send it; lone surrogates become \\ud800 escapes."""
    return json.dumps(body, default=_json_value).encode()


def _spellings(body: dict[str, Any], path: Path, value: Any) -> list[bytes]:
    """The JSON bodies a partner could send with `value` at `path`: a decimal also as a bare number."""
    quoted = _as_json(_put(body, path, value))
    if not isinstance(value, Decimal):
        return [quoted]
    bare = _as_json(_put(body, path, "\x00")).replace(b'"\\u0000"', str(value).encode())
    return [quoted, bare]


def _python_caller_might_send(value: Any) -> bool:
    """Whether to try a value as a Python object too, not only as JSON.

    pydantic turns a Decimal into an int by expanding it, so Decimal('1E+999999999') in an int
    field takes hours; no partner can send that object (JSON has no decimals), so it goes as JSON only."""
    if not isinstance(value, Decimal) or not value.is_finite():
        return True
    return abs(int(value.as_tuple().exponent)) <= 10_000


def _names(path: Path, error: Any) -> bool:
    """Whether an error points at the field at `path`, inside it, or at a field that contains it."""
    if error["type"] == "json_invalid":  # not JSON at all: refused before any field is read
        return True
    loc = tuple(error["loc"])
    return bool(loc) and (loc[: len(path)] == path or path[: len(loc)] == loc)


def _fail(where: str, why: str) -> None:
    raise AssertionError(f"accepted value at {where or 'top'} {why}")


def _check_scalar(value: Any, where: str) -> None:
    """A text is clean; a number fits its column; a date or time is aware and in business years."""
    if isinstance(value, str):
        try:
            clean_text(value)
        except ValueError as error:
            _fail(where, f"is not clean: {error}")
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int) and abs(value) > INT4:
        _fail(where, f"does not fit a PostgreSQL integer: {value}")
    elif isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        if not value.is_finite() or not isinstance(exponent, int) or abs(exponent) > DECIMAL_DIGITS:
            _fail(where, f"is written with more than {DECIMAL_DIGITS} digits of scale: {value!r}")
    elif isinstance(value, datetime):
        if value.utcoffset() is None or not EARLIEST <= value.date() <= LATEST:
            _fail(where, f"is not an aware time in business years: {value!r}")
    elif isinstance(value, date) and not EARLIEST <= value <= LATEST:
        _fail(where, f"is outside business years: {value!r}")


def assert_clean(value: Any, where: str = "") -> None:
    """Every text, number and date inside an accepted value is clean and fits where it will be stored."""
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            assert_clean(getattr(value, name), f"{where}.{name}")
    elif isinstance(value, list | tuple):
        for n, item in enumerate(value):
            assert_clean(item, f"{where}.{n}")
    elif isinstance(value, dict):
        for key, item in value.items():
            assert_clean(key, where)
            assert_clean(item, f"{where}.{key}")
    else:
        _check_scalar(value, where)


def _refused_or_clean(model: type[BaseModel], path: Path, validate: Callable[[], BaseModel]) -> None:
    """Refused with every error naming the field, or accepted clean and surviving a JSON round trip."""
    try:
        accepted = validate()
    except ValidationError as error:
        wrong = [(e["loc"], e["msg"]) for e in error.errors() if not _names(path, e)]
        assert not wrong, f"{model.__name__} refused a value at {path} without naming it: {wrong}"
        return
    assert_clean(accepted)
    assert model.model_validate_json(accepted.model_dump_json()) == accepted


def test_every_valid_message_is_valid() -> None:
    """The messages the properties start from are themselves accepted."""
    for model, body in VALID.items():
        model.model_validate(body)


@pytest.mark.parametrize(("model", "path"), CASES)
@HYPOTHESIS
@given(value=HOSTILE)
def test_a_hostile_value_is_refused_naming_its_field_or_accepted_clean(
    model: type[BaseModel], path: Path, value: Any
) -> None:
    """Any text, number or date in any field: as Python objects and as the JSON a partner sends."""
    note(f"{model.__name__}.{'.'.join(map(str, path))} = {value!r:.300}")
    if _python_caller_might_send(value):
        body = _put(VALID[model], path, value)
        _refused_or_clean(model, path, partial(model.model_validate, body))
    for raw in _spellings(VALID[model], path, value):
        _refused_or_clean(model, path, partial(model.model_validate_json, raw))


@HYPOTHESIS
@given(raw=st.binary(max_size=300))
def test_any_bytes_in_a_text_field_are_refused_or_clean(raw: bytes) -> None:
    """Bytes that are not UTF-8, or that escape into control characters, inside a JSON string."""
    note(f"message_id bytes: {raw!r}")
    body = _as_json(VALID[FinancePayment]).replace(b'"m-1"', b'"' + raw.replace(b'"', b"") + b'"')
    _refused_or_clean(FinancePayment, ("message_id",), lambda: FinancePayment.model_validate_json(body))


# --- making text storable, refusing events too large to publish -------------------------


@HYPOTHESIS
@given(text=TEXT, max_length=st.integers(0, 3000))
def test_scrub_makes_any_text_clean_and_short_enough(text: str, max_length: int) -> None:
    """Whatever comes in, what comes out is clean, no longer than asked, and clean text is only cut."""
    note(f"scrub({text!r:.300}, {max_length})")
    scrubbed = scrub(text, max_length)
    assert clean_text(scrubbed) == scrubbed and len(scrubbed) <= max_length
    try:
        clean_text(text)
    except ValueError:
        return
    assert scrubbed == text[:max_length]


def _event(data: dict[str, Any]) -> Envelope:
    return Envelope(
        id=uuid4(),
        type="order.accepted",
        source="order",
        order_id="SO1",
        occurred_at=CLOCK.now(),
        correlation_id="c-1",
        data=data,
    )


SIZES = st.integers(0, 2_000) | st.integers(MAX_EVENT_BYTES - 2_000, MAX_EVENT_BYTES + 2_000)


@HYPOTHESIS
@given(char=st.sampled_from(["a", "\t", "é", "中", "😀"]), size=SIZES)
def test_outbox_refuses_exactly_the_events_too_large_to_publish(char: str, size: int) -> None:
    """Unpublishable iff the event's JSON is over MAX_EVENT_BYTES in UTF-8; otherwise it is staged intact."""
    note(f"{size} bytes of {char!r}")
    event = _event({"note": char * (size // len(char.encode()))})
    too_large = len(event.model_dump_json().encode()) > MAX_EVENT_BYTES
    if too_large:
        with pytest.raises(Unpublishable):
            outbox_row(event, topic="order.events", clock=CLOCK)
        return
    row = outbox_row(event, topic="order.events", clock=CLOCK)
    assert Envelope.model_validate_json(row["payload"]) == event
    assert (row["key"], row["event_type"]) == ("SO1", "order.accepted")


def test_a_normal_event_is_staged() -> None:
    """An ordinary order.accepted is well under the limit."""
    terms = OrderTerms.model_validate(TERMS)
    payload = OrderAccepted(**terms.model_dump(), total_amount=terms.compute_total())
    event = Envelope.new(payload, source="order", order_id="SO1", clock=CLOCK)
    assert outbox_row(event, topic="order.events", clock=CLOCK)["event_id"] == event.id


WIDE_CHARS = ["a", "é", "中", "😀", "\U0010ffff"]  # one to four bytes in UTF-8


@HYPOTHESIS
@given(
    char=st.sampled_from(WIDE_CHARS),
    lines=st.integers(1, 500),
    product=st.integers(1, 200),
    spec=st.integers(0, 2000),
)
def test_every_accepted_order_fits_in_one_event(char: str, lines: int, product: int, spec: int) -> None:
    """An order the contract accepts can always be published as order.accepted (the contract says it fits)."""
    note(f"{lines} lines, each with product {char!r} x {product} and spec {char!r} x {spec}")
    line = {**LINE, "quantity": 1, "product": char * product, "spec": char * spec}
    body = {**TERMS, "lines": [{**line, "line_no": n} for n in range(1, lines + 1)]}
    try:
        terms = OrderTerms.model_validate(body)
    except ValidationError:
        return
    target(len(terms.model_dump_json().encode()), label="UTF-8 bytes of an accepted order")
    payload = OrderAccepted(**terms.model_dump(), total_amount=terms.compute_total())
    outbox_row(Envelope.new(payload, source="order", order_id="SO1", clock=CLOCK), topic="order.events", clock=CLOCK)
