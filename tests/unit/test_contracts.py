"""Contracts: the envelope, payment terms and partner messages refuse what they should."""

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from shared.clock import FixedClock
from shared.contracts import (
    EVENT_TYPES,
    CarrierTracking,
    Envelope,
    OrderClosed,
    OrderTerms,
    PaymentTerms,
    ProductionStarted,
)

pytestmark = pytest.mark.unit

CLOCK = FixedClock(datetime(2027, 1, 1, tzinfo=UTC))
TERMS = {
    "customer": "ACME",
    "external_ref": "PO-1",
    "currency": "USD",
    "delivery_date": "2027-02-01",
    "delivery_address": "somewhere",
    "contact": "bob",
    "lines": [{"line_no": 1, "product": "W", "quantity": 3, "unit_price": "2.50"}],
}


def test_caused_event_keeps_the_correlation_id() -> None:
    first = Envelope.new(ProductionStarted(work_order_id="WO1"), source="production", order_id="SO1", clock=CLOCK)
    second = Envelope.new(OrderClosed(closed_at=CLOCK.now()), source="order", order_id="SO1", clock=CLOCK, cause=first)
    assert second.correlation_id == first.correlation_id == str(first.id)
    assert second.causation_id == str(first.id)
    assert Envelope.model_validate_json(second.model_dump_json()) == second


def test_envelope_payload_roundtrip_and_registry() -> None:
    event = Envelope.new(ProductionStarted(work_order_id="WO1"), source="p", order_id="SO1", clock=CLOCK)
    assert event.type == "production.started"
    assert event.payload(EVENT_TYPES[event.type]) == ProductionStarted(work_order_id="WO1")


def test_envelope_refuses_naive_time_and_bad_type() -> None:
    event = Envelope.new(ProductionStarted(work_order_id="WO1"), source="p", order_id="SO1", clock=CLOCK)
    raw = event.model_dump(mode="json")
    with pytest.raises(ValidationError):
        Envelope.model_validate({**raw, "occurred_at": "2027-01-01T00:00:00"})
    with pytest.raises(ValidationError):
        Envelope.model_validate({**raw, "type": "Not A Type"})


def test_order_terms_total_and_validation() -> None:
    terms = OrderTerms.model_validate(TERMS)
    assert terms.compute_total() == Decimal("7.50")
    assert terms.delivery_date == date(2027, 2, 1)
    with pytest.raises(ValidationError):
        OrderTerms.model_validate({**TERMS, "lines": []})
    with pytest.raises(ValidationError):
        OrderTerms.model_validate({**TERMS, "lines": TERMS["lines"] * 2})
    with pytest.raises(ValidationError):
        OrderTerms.model_validate({**TERMS, "currency": "dollars"})


def test_payment_terms_must_add_up_to_100() -> None:
    with pytest.raises(ValidationError, match="100 percent"):
        PaymentTerms.model_validate({"installments": [{"trigger": "delivery", "percent": "90"}]})


def test_carrier_status_is_normalised_vocabulary() -> None:
    with pytest.raises(ValidationError):
        CarrierTracking.model_validate(
            {"message_id": "1", "occurred_at": CLOCK.now(), "carrier": "x", "tracking_number": "T", "status": "lost??"}
        )


def test_production_settings_refuse_local_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    from services.order.settings import OrderSettings

    monkeypatch.setenv("GENDAN_ENV", "production")
    for name in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS"):  # the tests' own servers may be named by these
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValidationError, match="DATABASE_URL must be set"):
        OrderSettings()
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://gendan@db.internal/gendan_order")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka-1:9092")
    with pytest.raises(ValidationError, match="password"):
        OrderSettings()
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://gendan:s3cret@db.internal/gendan_order")
    assert OrderSettings().env == "production"


def test_order_must_fit_money_and_one_kafka_message() -> None:
    huge_price = {
        **TERMS,
        "lines": [{"line_no": 1, "product": "W", "quantity": 10_000_000, "unit_price": "9999999999.99"}],
    }
    with pytest.raises(ValidationError, match="order total exceeds"):
        OrderTerms.model_validate(huge_price)
    long_lines = [
        {"line_no": n, "product": "P" * 200, "spec": "S" * 2000, "quantity": 1, "unit_price": "1"}
        for n in range(1, 200)
    ]
    with pytest.raises(ValidationError, match="KiB"):
        OrderTerms.model_validate({**TERMS, "lines": long_lines})


def test_events_tolerate_fields_added_by_newer_producers() -> None:
    assert ProductionStarted.model_validate({"work_order_id": "WO1", "added_later": 1}) == ProductionStarted(
        work_order_id="WO1"
    )


def test_a_consumer_reads_each_version_of_an_event_by_its_own_class() -> None:
    from typing import ClassVar

    from shared.contracts import Envelope, ProductionStarted
    from shared.subscriptions import on_events

    class ProductionStartedV2(ProductionStarted):
        version: ClassVar[int] = 2
        line_no: int

    async def v1(event: object, uow: object) -> None: ...

    async def v2(event: object, uow: object) -> None: ...

    sub = on_events("production.events", {ProductionStarted: v1, ProductionStartedV2: v2})
    old = Envelope.new(ProductionStarted(work_order_id="WO1"), source="production", order_id="SO1", clock=CLOCK)
    new = Envelope.new(
        ProductionStartedV2(work_order_id="WO1", line_no=2), source="production", order_id="SO1", clock=CLOCK
    )
    assert (old.version, new.version) == (1, 2)
    read_old, read_new = sub.parse(old.model_dump_json().encode()), sub.parse(new.model_dump_json().encode())
    assert (read_old.handler, type(read_old.message.data)) == (v1, ProductionStarted)
    assert (read_new.handler, read_new.message.data.line_no) == (v2, 2)
    unknown = old.model_copy(update={"version": 3}).model_dump_json().encode()
    with pytest.raises(ValueError, match="version 3"):
        sub.parse(unknown)


def test_production_refuses_the_development_webhook_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    from services.logistics.settings import DEV_SECRETS, LogisticsSettings

    monkeypatch.setenv("GENDAN_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://gendan:s3cret@db.internal/gendan_logistics")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka-1:9092")
    with pytest.raises(ValidationError, match="WEBHOOK_SECRETS must be set"):
        LogisticsSettings()
    monkeypatch.setenv("WEBHOOK_SECRETS", json.dumps({"sf-express": DEV_SECRETS["sf-express"]}))
    with pytest.raises(ValidationError, match="without the development secrets"):
        LogisticsSettings()
    monkeypatch.setenv("WEBHOOK_SECRETS", json.dumps({"sf-express": ["whsec_c2VjcmV0LWZyb20tdGhlLXZhdWx0"]}))
    assert LogisticsSettings().webhook_secrets == {"sf-express": ["whsec_c2VjcmV0LWZyb20tdGhlLXZhdWx0"]}


def test_secrets_can_come_from_files(tmp_path: Path) -> None:
    """As Kubernetes mounts them: one file per setting in the folder GENDAN_SECRETS_DIR names."""
    (tmp_path / "kafka_password").write_text("from-a-file")
    read = "from shared.settings import KafkaSettings; print(KafkaSettings(kafka_username='order').kafka_password)"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAFKA_")} | {"GENDAN_SECRETS_DIR": str(tmp_path)}
    found = subprocess.run([sys.executable, "-c", read], env=env, capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "from-a-file"
