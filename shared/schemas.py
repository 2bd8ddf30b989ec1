"""Published contracts: a JSON Schema for every message on Gendan's topics, one per message and version.

A lifecycle event's schema is its envelope with `type` and `version` fixed and `data` the schema of
its payload; a partner message's schema is its contract. Both are generated from the pydantic models
in `shared.contracts` as they validate (what Gendan accepts), each with an example.

`python -m shared.schemas` (`make schemas`) writes them to docs/schemas/, where partners validate
against them without running Gendan. The files are also the snapshots of the versioning rule: within
a version a contract may only gain optional fields; `breaking_changes` names anything else, and the
command refuses to overwrite a snapshot with a breaking change. `asyncapi_contracts` puts the same
schemas into a service's AsyncAPI document.
"""

import argparse
import copy
import inspect
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from uuid import NAMESPACE_URL, uuid5

from pydantic import BaseModel

from shared import topics
from shared.contracts import (
    EVENT_TYPES,
    CarrierTracking,
    Contract,
    Envelope,
    ErpOrder,
    EventData,
    FinancePayment,
    MesEvent,
    PartnerMessage,
    SupplierEvent,
    WmsEvent,
    exception_id,
)
from shared.examples import (
    INVOICE_NUMBER,
    OCCURRED_AT,
    ORDER_ID,
    SHIPMENT_ID,
    TRACKING_NUMBER,
    WORK_ORDER_ID,
)
from shared.examples import billing as billing_examples
from shared.examples import logistics as logistics_examples
from shared.examples import production as production_examples
from shared.kinds import KINDS

Schema = dict[str, Any]

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "docs" / "schemas"
DIALECT = "https://json-schema.org/draft/2020-12/schema"
KAFKA_BINDING = "0.4.0"

PARTNER_CONTRACTS: dict[str, type[PartnerMessage]] = {
    topics.ERP_ORDERS: ErpOrder,
    topics.MES_EVENTS: MesEvent,
    topics.SUPPLIER_EVENTS: SupplierEvent,
    topics.WMS_EVENTS: WmsEvent,
    topics.CARRIER_TRACKING: CarrierTracking,
    topics.FINANCE_PAYMENTS: FinancePayment,
}
"""The contract of each partner topic, as `on_partner` wires it in services/*/consumers.py."""

SERVICE_TOPIC = {topic.split(".", 1)[0]: topic for topic in topics.SERVICE_TOPICS}
"""The topic each service publishes on, by service name (`ServiceSpec.topic`)."""

# --- examples: one per message, checked against the contracts by tests/unit/test_schemas.py -----------


ORDER_TERMS: dict[str, Any] = {
    "customer": "ACME Industrial",
    "external_ref": "PO-4711",
    "currency": "USD",
    "delivery_date": "2027-03-01",
    "payment_terms": {
        "installments": [
            {"trigger": "acceptance", "percent": "30"},
            {"trigger": "delivery", "percent": "70", "net_days": 30},
        ]
    },
    "delivery_address": "88 Harbour Road, Shenzhen",
    "destination_country": "CN",
    "contact": "purchasing@acme.example",
    "incoterm": "FOB",
    "requirements": {"packaging": "export carton, 10 per carton", "certifications": ["RoHS"], "inspection": "customer"},
    "lines": [
        {
            "line_no": 1,
            "product": "GX-200 gearbox",
            "sku": "GX-200",
            "quantity": 120,
            "unit": "pcs",
            "unit_price": "84.50",
            "requested_date": "2027-03-01",
        }
    ],
}
CHANGED_LINES: list[dict[str, Any]] = [{**ORDER_TERMS["lines"][0], "quantity": 150}]
REJECTION: dict[str, Any] = {
    "rejected_topic": topics.ORDER_EVENTS,
    "rejected_type": "order.accepted",
    "rejected_id": "0b6f7c1e-2d0a-4f7e-9a51-3c2d8e4f6a10",
    "reason": "schema-invalid: data.lines.0.quantity: Input should be greater than 0",
}
PAYLOAD_EXAMPLES: dict[str, dict[str, Any]] = {
    "order.review_requested": {
        **ORDER_TERMS,
        "total_amount": "10140.00",
        "order_version": 1,
        "departments": ["production", "finance"],
    },
    "order.accepted": {
        **ORDER_TERMS,
        "total_amount": "10140.00",
        "order_version": 1,
        "confirmed": [{"line_no": 1, "requested_date": "2027-03-01", "confirmed_date": "2027-03-01"}],
    },
    "order.rejected": {"reasons": ["finance: open receivables 182 000.00 USD exceed the credit limit"]},
    "order.change_requested": {
        "change_id": "CR5A1B2C3D4E5F6A70",
        "kind": "change",
        "order_version": 2,
        "lines": CHANGED_LINES,
        "cancelled_lines": [],
        "delivery_date": "2027-03-01",
        "reason": "Customer raises line 1 from 120 to 150 pieces (mail of 2027-02-12).",
        "respond_by": "2027-02-13T12:00:00+08:00",
    },
    "order.change_accepted": {
        "change_id": "CR5A1B2C3D4E5F6A70",
        "kind": "change",
        "order_version": 2,
        "lines": CHANGED_LINES,
        "cancelled_lines": [],
        "delivery_date": "2027-03-08",
        "total_amount": "12675.00",
        "previous_total": "10140.00",
    },
    "order.change_rejected": {"change_id": "CR5A1B2C3D4E5F6A70", "reason": "Customer declined the new date."},
    "order.cancelled": {
        "change_id": "CR5A1B2C3D4E5F6A71",
        "reason": "Customer's project stopped (letter of 2027-02-14).",
        "cancelled_at": "2027-02-15T09:00:00+08:00",
    },
    "order.remedy_requested": {
        "complaint_id": "CP7E2A1B9C3D5F4E60",
        "remedy": "replacement",
        "service": "logistics",
        "category": "damage",
        "line_no": 1,
        "quantity": 12,
        "shipment_id": SHIPMENT_ID,
        "note": "12 gearboxes arrived with cracked housings; photos in the complaint.",
    },
    **{
        f"{service}.remedy_done": {
            "complaint_id": "CP7E2A1B9C3D5F4E60",
            "remedy": remedy,
            "reference": reference,
            "note": "",
        }
        for service, remedy, reference in (
            ("logistics", "replacement", "SH9A8B7C6D5E4F3A21"),
            ("production", "rework", WORK_ORDER_ID),
            ("billing", "credit_note", "CN-SO4C0F2A9B1D3E5F70-2"),
        )
    },
    "logistics.formality_changed": {
        "step": "customs_declaration",
        "status": "held",
        "subject_id": SHIPMENT_ID,
        "reference": "531620270000123456",
        "reason": "HS code 8483.40 needs the inspection certificate attached",
        "blocks_shipment": True,
    },
    "production.formality_changed": {
        "step": "commodity_inspection",
        "status": "passed",
        "subject_id": WORK_ORDER_ID,
        "reference": "CIQ-4403-2027-0087",
    },
    "billing.formality_changed": {
        "step": "fx_settlement",
        "status": "settled",
        "subject_id": "fin-20270212-0042",
        "reference": "BOC-FX-778812",
        "currency": "USD",
        "amount": "3042.00",
        "rate": "7.1032",
        "home_currency": "CNY",
        "home_amount": "21607.93",
    },
    "production.feasibility_assessed": {
        "order_version": 1,
        "lines": [{"line_no": 1, "earliest_completion": "2027-02-20", "feasible": True}],
        "note": "",
    },
    "production.work_order_changed": {
        "work_order_id": WORK_ORDER_ID,
        "line_no": 1,
        "quantity": 150,
        "planned_completion": "2027-02-27",
        "change_id": "CR5A1B2C3D4E5F6A70",
    },
    "production.work_order_cancelled": {
        "work_order_id": WORK_ORDER_ID,
        "line_no": 1,
        "made_quantity": 40,
        "change_id": "CR5A1B2C3D4E5F6A71",
    },
    "production.change_assessed": {
        "change_id": "CR5A1B2C3D4E5F6A70",
        "feasible": True,
        "new_date": "2027-03-05",
        "cost": "0.00",
        "material_bought": "1200.00",
        "work_in_progress": 60,
        "made": 40,
        "note": "30 more pieces fit in week 9.",
    },
    "logistics.change_assessed": {
        "change_id": "CR5A1B2C3D4E5F6A70",
        "feasible": True,
        "new_date": "2027-03-08",
        "cost": "85.00",
        "shipped": 0,
        "note": "One more carton; the booked truck has room.",
    },
    "logistics.shipment_changed": {
        "shipment_id": SHIPMENT_ID,
        "change_id": "CR5A1B2C3D4E5F6A71",
        "cancelled": True,
        "note": "booking cancelled before pick-up",
    },
    "billing.credit_note_issued": {
        "credit_note_id": "CN-SO4C0F2A9B1D3E5F70-1",
        "credit_note_number": "CN-SO4C0F2A9B1D3E5F70-1",
        "invoice_number": INVOICE_NUMBER,
        "amount": "3042.00",
        "currency": "USD",
        "reason": "order cancelled",
    },
    "billing.receivables_changed": {
        "customer": "ACME Industrial",
        "currency": "USD",
        "open_amount": "3042.00",
        "overdue_amount": "0.00",
    },
    "order.closed": {"closed_at": "2027-03-20T10:00:00+08:00"},
    "production.order_created": {
        "work_order_id": WORK_ORDER_ID,
        "line_no": 1,
        "product": "GX-200 gearbox",
        "quantity": 120,
        "kind": "make",
        "planned_completion": "2027-02-15",
    },
    "production.started": {"work_order_id": WORK_ORDER_ID},
    "production.completed": {"work_order_id": WORK_ORDER_ID, "good_quantity": 118, "scrap_quantity": 2},
    "production.order_ready": {"work_order_ids": [WORK_ORDER_ID], "quantity": 118},
    "production.message_rejected": REJECTION,
    "logistics.shipment_planned": {
        "shipment_id": SHIPMENT_ID,
        "tracking_number": TRACKING_NUMBER,
        "carrier": "sf-express",
        "mode": "express",
        "packages": 4,
        "weight_kg": "236.000",
    },
    "logistics.shipment_tracked": {"shipment_id": SHIPMENT_ID, "status": "in_transit", "location": "Guangzhou hub"},
    "logistics.shipment_delivered": {
        "shipment_id": SHIPMENT_ID,
        "delivered_at": "2027-02-27T15:40:00+08:00",
        "received_quantity": 118,
    },
    "logistics.message_rejected": REJECTION,
    "billing.invoice_issued": {
        "invoice_id": INVOICE_NUMBER,
        "invoice_number": INVOICE_NUMBER,
        "amount": "3042.00",
        "currency": "USD",
        "due_date": "2027-02-10",
        "trigger": "acceptance",
    },
    "billing.payment_received": {
        "payment_id": "fin-20270212-0042",
        "invoice_number": INVOICE_NUMBER,
        "amount": "3042.00",
        "match": "exact",
    },
    "billing.order_settled": {"invoiced_total": "10140.00", "paid_total": "10140.00"},
    "billing.message_rejected": REJECTION,
    "order.exception_acted": {
        "exception_id": "5d1c1b0e-7f7a-5b43-9d7e-0c1f2a3b4c5d",
        "service": "logistics",
        "action": "assign",
        "by": "li.wei",
        "at": "2027-02-25T09:30:00+08:00",
        "owner": "zhang.min",
        "note": "Zhang Min follows up with the carrier.",
    },
    "order.exception_escalated": {
        "exception_id": "5d1c1b0e-7f7a-5b43-9d7e-0c1f2a3b4c5d",
        "kind": "logistics.carrier_damage",
        "level": 1,
        "severity": "critical",
        "due_by": "2027-02-25T13:30:00+08:00",
    },
}
"""An example `data` of each event type, in the lifecycle of one order."""

EXCEPTION_EXAMPLES: dict[str, dict[str, Any]] = {
    "order": {"kind": "order.past_due", "stage": "order", "subject_type": "order", "subject_id": ORDER_ID},
    "production": {
        "kind": "production.no_mes_report",
        "stage": "production",
        "subject_type": "work_order",
        "subject_id": WORK_ORDER_ID,
    },
    "logistics": {
        "kind": "logistics.carrier_damage",
        "stage": "logistics",
        "subject_type": "shipment",
        "subject_id": SHIPMENT_ID,
    },
    "billing": {
        "kind": "billing.payment_overdue",
        "stage": "billing",
        "subject_type": "invoice",
        "subject_id": INVOICE_NUMBER,
    },
}
for _service, _subject in EXCEPTION_EXAMPLES.items():
    _kind = KINDS[_subject["kind"]]
    _raised = {
        "exception_id": exception_id(_service, _subject["kind"], _subject["subject_type"], _subject["subject_id"]),
        **_subject,
        "severity": _kind.severity.value,
        "owner": _kind.owner.value,
        "title": _kind.meaning,
        "facts": {"reported_by": "example"},
        "action": _kind.action,
        "cause": _kind.cause.value,
        "raised_at": "2027-02-25T08:00:00+08:00",
        "due_by": "2027-02-25T12:00:00+08:00",
    }
    PAYLOAD_EXAMPLES[f"{_service}.exception_raised"] = _raised
    PAYLOAD_EXAMPLES[f"{_service}.exception_updated"] = {**_raised, "facts": {"reported_by": "example", "again": True}}
    PAYLOAD_EXAMPLES[f"{_service}.exception_resolved"] = {
        "exception_id": _raised["exception_id"],
        "kind": _subject["kind"],
        "subject_type": _subject["subject_type"],
        "subject_id": _subject["subject_id"],
        "resolved_at": "2027-02-25T10:00:00+08:00",
        "by": "system",
        "reason": "the condition cleared",
    }

PARTNER_EXAMPLES: dict[str, dict[str, Any]] = {
    topics.ERP_ORDERS: {"message_id": "erp-2027-000731", "occurred_at": OCCURRED_AT, **ORDER_TERMS},
    topics.MES_EVENTS: {
        "message_id": "mes-88121",
        "occurred_at": OCCURRED_AT,
        "type": "completed",
        "work_order_id": WORK_ORDER_ID,
        "good_quantity": 118,
        "scrap_quantity": 2,
    },
    topics.WMS_EVENTS: {
        "message_id": "wms-55120",
        "occurred_at": OCCURRED_AT,
        "type": "packed",
        "order_id": ORDER_ID,
        "quantity": 118,
        "packages": 4,
        "weight_kg": "236.000",
    },
    topics.CARRIER_TRACKING: {
        "message_id": f"sf-express-{TRACKING_NUMBER}-7",
        "occurred_at": "2027-02-27T15:40:00+08:00",
        "carrier": "sf-express",
        "tracking_number": TRACKING_NUMBER,
        "status": "delivered",
        "location": "Shenzhen",
        "received_quantity": 118,
    },
    topics.FINANCE_PAYMENTS: {
        "message_id": "fin-20270212-0042",
        "occurred_at": "2027-02-12T09:30:00+08:00",
        "invoice_number": INVOICE_NUMBER,
        "amount": "3042.00",
        "currency": "USD",
    },
}
"""An example message on each partner topic."""

for _domain in (production_examples, logistics_examples, billing_examples):
    PAYLOAD_EXAMPLES.update(_domain.EXAMPLES)
    PARTNER_EXAMPLES.update(_domain.PARTNER_EXAMPLES)


# --- the messages ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """One message on one topic in one version: an AsyncAPI message and a schema file."""

    name: str  # the event type, or the partner topic
    version: int
    topic: str
    kind: Literal["events", "partners"]

    @property
    def key(self) -> str:
        """Its id, `<name>.v<version>`: the stem of its schema file and its AsyncAPI message name."""
        return f"{self.name}.v{self.version}"

    @property
    def label(self) -> str:
        """How messages name it: `mes.events v1`."""
        return f"{self.name} v{self.version}"

    def path(self, root: Path = SCHEMA_DIR) -> Path:
        """Where its schema file is."""
        return root / self.kind / f"{self.key}.json"

    def schema(self) -> Schema:
        """Its JSON Schema as generated from the contracts now."""
        return event_schema(self.name) if self.kind == "events" else partner_schema(self.name)


def publisher(event_type: str) -> str:
    """The service that publishes an event type: the type's prefix."""
    return event_type.split(".", 1)[0]


def event_topic(event_type: str) -> str:
    """The topic an event type is published on: its publisher's."""
    return SERVICE_TOPIC[publisher(event_type)]


def partner_version(model: type[PartnerMessage]) -> int:
    """A partner contract's version: 1 until it declares a `version` ClassVar, as `EventData` does."""
    return int(getattr(model, "version", 1))


def messages() -> list[Message]:
    """Every message Gendan reads or writes, in its current version."""
    events = [Message(name, model.version, event_topic(name), "events") for name, model in EVENT_TYPES.items()]
    partners = [Message(t, partner_version(m), t, "partners") for t, m in PARTNER_CONTRACTS.items()]
    return events + partners


def messages_on(topic: str) -> list[Message]:
    """The messages that travel on a topic (without deployment prefix)."""
    return [message for message in messages() if message.topic == topic]


# --- schemas -----------------------------------------------------------------------------------------


def model_schema(model: type[BaseModel]) -> Schema:
    """A contract's JSON Schema as it validates, without fields it never writes (`exclude=True`)."""
    schema = model.model_json_schema(mode="validation")
    for name, field in model.model_fields.items():
        if field.exclude:
            schema.get("properties", {}).pop(name, None)
    if "description" not in schema and (doc := inherited_doc(model)):
        schema["description"] = doc
    return schema


def inherited_doc(model: type[BaseModel]) -> str | None:
    """The docstring of the nearest specific contract a model extends (`MessageRejected` for its per-service types)."""
    generic = (EventData, PartnerMessage, Contract, BaseModel)
    for base in model.__mro__[1:]:
        if issubclass(base, Contract) and base not in generic and base.__doc__:
            return inspect.cleandoc(base.__doc__)
    return None


def payload_schema(event_type: str) -> Schema:
    """The schema of an event type's `data`, with its `$defs`."""
    return model_schema(EVENT_TYPES[event_type])


def event_schema(event_type: str) -> Schema:
    """An event type's envelope: `type` and `version` fixed, `data` its payload, with an example."""
    version, envelope, payload = EVENT_TYPES[event_type].version, model_schema(Envelope), payload_schema(event_type)
    defs = {**envelope.pop("$defs", {}), **payload.pop("$defs", {})}
    fields = envelope["properties"]
    fields["type"] = _fixed(fields["type"], event_type)
    fields["version"] = _fixed(
        fields["version"], version, "Contract version of `data`; breaking changes get a new one."
    )
    fields["data"] = payload
    required = [*envelope.get("required", []), *(f for f in ("version", "data") if f not in envelope["required"])]
    about = f"`{event_type}` version {version}, published by the {publisher(event_type)} service on "
    about += f"`{event_topic(event_type)}`. {envelope.get('description', '')}"
    body = {**envelope, "properties": fields, "required": required}
    return _standalone(f"{event_type} v{version}", about.strip(), body, defs, event_example(event_type))


def partner_schema(topic: str) -> Schema:
    """A partner topic's contract, with an example."""
    model = PARTNER_CONTRACTS[topic]
    body = model_schema(model)
    defs = body.pop("$defs", {})
    title = f"{topic} v{partner_version(model)} ({model.__name__})"
    return _standalone(title, body.get("description", ""), body, defs, PARTNER_EXAMPLES.get(topic))


def event_example(event_type: str) -> Schema | None:
    """An example envelope of an event type, if its payload has one."""
    data = PAYLOAD_EXAMPLES.get(event_type)
    if data is None:
        return None
    return {
        "id": str(uuid5(NAMESPACE_URL, f"gendan-example:{event_type}")),
        "type": event_type,
        "version": EVENT_TYPES[event_type].version,
        "source": publisher(event_type),
        "order_id": ORDER_ID,
        "occurred_at": OCCURRED_AT,
        "correlation_id": str(uuid5(NAMESPACE_URL, "gendan-example:order.accepted")),
        "causation_id": str(uuid5(NAMESPACE_URL, "gendan-example:cause")),
        "data": data,
    }


def example(message: Message) -> Schema | None:
    """The example of a message: an envelope for an event, the message itself for a partner."""
    return event_example(message.name) if message.kind == "events" else PARTNER_EXAMPLES.get(message.name)


def _fixed(field: Schema, value: str | int, description: str | None = None) -> Schema:
    """A field's schema pinned to one value, keeping its title and description."""
    fixed = {key: field[key] for key in ("title", "description") if key in field}
    if description:
        fixed["description"] = description
    return fixed | {"type": "string" if isinstance(value, str) else "integer", "const": value}


def _standalone(title: str, description: str, body: Schema, defs: Schema, sample: Schema | None) -> Schema:
    """A schema file: dialect, title and description first, then the body, example and definitions."""
    schema: Schema = {"$schema": DIALECT, "title": title, "description": description}
    schema |= {key: value for key, value in body.items() if key not in schema}
    if sample is not None:
        schema["examples"] = [sample]
    if defs:
        schema["$defs"] = defs
    return schema


_VALUES = frozenset({"const", "default", "enum", "examples"})  # instance data, not schemas


def inline(schema: Schema) -> Schema:
    """The schema with every `$ref` into its `$defs` replaced by the definition, and no `$defs`."""
    defs: Schema = schema.get("$defs", {})

    def expand(node: Any, seen: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [expand(item, seen) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            name = ref.removeprefix("#/$defs/")
            if name in seen:
                raise ValueError(f"recursive schema at {name}; cannot inline it")
            return expand({**defs[name], **{k: v for k, v in node.items() if k != "$ref"}}, (*seen, name))
        return {k: v if k in _VALUES else expand(v, seen) for k, v in node.items() if k != "$defs"}

    resolved: Schema = expand(schema, ())
    return resolved


# --- the versioning rule -----------------------------------------------------------------------------


def breaking_changes(before: Schema, after: Schema) -> list[str]:
    """Why `after` may not replace `before` within one version: a field removed or retyped, a new required
    field, an optional field made required. Adding optional fields is compatible; so is all else here."""
    return _changes(inline(before), inline(after), "")


def _changes(old: Schema, new: Schema, path: str) -> list[str]:
    """The breaking changes from `old` to `new` at `path` and below it."""
    old_types, new_types = _types(old), _types(new)
    if old_types != new_types:
        return [f"field `{path or '(root)'}` changed type from {_show(old_types)} to {_show(new_types)}"]
    (old_fields, old_required), (new_fields, new_required) = _fields(old), _fields(new)
    problems: list[str] = []
    for name, field in old_fields.items():
        where = f"{path}.{name}" if path else name
        if name not in new_fields:
            problems.append(f"field `{where}` removed")
            continue
        if name in new_required and name not in old_required:
            problems.append(f"field `{where}` made required (it was optional)")
        problems += _changes(field, new_fields[name], where)
    for name in new_fields.keys() - old_fields.keys():
        if name in new_required:
            problems.append(f"field `{f'{path}.{name}' if path else name}` added as required")
    old_items, new_items = _items(old), _items(new)
    if old_items is not None and new_items is not None:
        problems += _changes(old_items, new_items, f"{path}[]")
    return problems


def _branches(schema: Schema) -> list[Schema]:
    """The alternatives and parts a schema is made of (`anyOf`, `oneOf`, `allOf`)."""
    return [branch for key in ("anyOf", "oneOf", "allOf") for branch in schema.get(key, [])]


def _types(schema: Schema) -> frozenset[str]:
    """The JSON types a schema allows, strings with their format (`string:date-time`)."""
    if branches := _branches(schema):
        return frozenset().union(*(_types(branch) for branch in branches))
    if "type" in schema:
        names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        fmt = schema.get("format")
        return frozenset(f"{name}:{fmt}" if fmt and name == "string" else name for name in names)
    values = [schema["const"]] if "const" in schema else schema.get("enum", [])
    return frozenset(_json_type(value) for value in values) or frozenset({"any"})


def _json_type(value: Any) -> str:
    """The JSON type of a value."""
    if isinstance(value, bool):
        return "boolean"
    kinds = {int: "integer", float: "number", str: "string", list: "array", dict: "object", type(None): "null"}
    return next((name for kind, name in kinds.items() if isinstance(value, kind)), "any")


def _show(types: frozenset[str]) -> str:
    """Types as a message shows them: `integer`, `integer | null`."""
    return " | ".join(sorted(types))


def _fields(schema: Schema) -> tuple[Schema, set[str]]:
    """The properties of an object schema (or of its object alternatives) and which are required."""
    fields, required = dict(schema.get("properties", {})), set(schema.get("required", []))
    for branch in _branches(schema):
        more, also = _fields(branch)
        fields |= more
        required |= also
    return fields, required


def _items(schema: Schema) -> Schema | None:
    """The schema of an array's items (or of its array alternative), if it is one."""
    if isinstance(schema.get("items"), dict):
        items: Schema = schema["items"]
        return items
    return next((found for branch in _branches(schema) if (found := _items(branch)) is not None), None)


# --- the files ---------------------------------------------------------------------------------------


def render(schema: Schema) -> str:
    """A schema file's text: JSON indented by two, one trailing newline."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def committed(message: Message, root: Path = SCHEMA_DIR) -> Schema | None:
    """The committed snapshot of a message version, if there is one."""
    path = message.path(root)
    if not path.exists():
        return None
    snapshot: Schema = json.loads(path.read_text(encoding="utf-8"))
    return snapshot


def breaking(message: Message, root: Path = SCHEMA_DIR) -> list[str]:
    """Why the message's current schema may not replace its snapshot, each naming the message and field."""
    snapshot = committed(message, root)
    if snapshot is None:
        return []
    return [
        f"{message.label}: {why} — breaking; add a new version" for why in breaking_changes(snapshot, message.schema())
    ]


def write(root: Path = SCHEMA_DIR) -> list[Path]:
    """(Re)write the schema file of every current message version; the files that changed."""
    changed = []
    for message in messages():
        path, text = message.path(root), render(message.schema())
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m shared.schemas`: rewrite docs/schemas/, refusing a breaking change within a version."""
    parser = argparse.ArgumentParser(prog="python -m shared.schemas", description=main.__doc__)
    parser.add_argument("--root", type=Path, default=SCHEMA_DIR, help="where the schema files are")
    parser.add_argument(
        "--allow-breaking", action="store_true", help="overwrite snapshots anyway (only for a version never published)"
    )
    args = parser.parse_args(argv)
    problems = [problem for message in messages() for problem in breaking(message, args.root)]
    if problems and not args.allow_breaking:
        print("\n".join(problems), file=sys.stderr)
        return 1
    changed = write(args.root)
    for path in changed:
        print(f"wrote {path}")
    print(f"{len(changed)} of {len(messages())} schema files changed under {args.root}")
    return 0


# --- AsyncAPI ----------------------------------------------------------------------------------------


def asyncapi_contracts(document: Schema, prefix: str = "") -> Schema:
    """An AsyncAPI 3 document with each known channel's messages replaced by the messages on its topic:
    one per event type (or partner contract) and version, with its full schema and an example."""
    document = copy.deepcopy(document)
    components = document.setdefault("components", {})
    for channel_id, channel in document.get("channels", {}).items():
        on_topic = messages_on(channel["address"].removeprefix(prefix))
        if not on_topic:
            continue
        for ref in channel.get("messages", {}).values():
            _drop_message(components, ref["$ref"])
        channel["messages"] = {m.key: {"$ref": f"#/components/messages/{m.key}"} for m in on_topic}
        for operation in document.get("operations", {}).values():
            if operation["channel"]["$ref"] == f"#/channels/{channel_id}":
                operation["messages"] = [{"$ref": f"#/channels/{channel_id}/messages/{m.key}"} for m in on_topic]
        for message in on_topic:
            schema = {k: v for k, v in inline(message.schema()).items() if k != "$schema"}
            components.setdefault("schemas", {})[message.key] = schema
            components.setdefault("messages", {})[message.key] = asyncapi_message(message, schema)
    document.setdefault("info", {})["x-exception-kinds"] = exception_kinds()
    return document


def exception_kinds() -> Schema:
    """The registry of exception kinds, as the `kind` of every `*.exception_*` event may name them."""
    return {
        k.name: {
            "stage": k.stage.value,
            "severity": k.severity.value,
            "owner": k.owner.value,
            "deadline_hours": k.deadline.total_seconds() / 3600,
            "cause": k.cause.value,
            "meaning": k.meaning,
            "action": k.action,
        }
        for k in KINDS.values()
    }


def asyncapi_message(message: Message, schema: Schema) -> Schema:
    """The AsyncAPI message of a message version, its payload the schema in `components/schemas`."""
    described: Schema = {
        "name": message.key,
        "title": schema["title"],
        "summary": f"{message.label} on `{message.topic}`",
        "description": schema.get("description", ""),
        "contentType": "application/json",
        "payload": {"$ref": f"#/components/schemas/{message.key}"},
    }
    if message.kind == "events":
        described["correlationId"] = {"location": "$message.payload#/correlation_id"}
        key = {"type": "string", "description": "The order id, as in `order_id`."}
        described["bindings"] = {"kafka": {"key": key, "bindingVersion": KAFKA_BINDING}}
    described["examples"] = [{"name": message.key, "payload": sample} for sample in schema.get("examples", [])]
    return described


def _drop_message(components: Schema, ref: str) -> None:
    """Remove a generated component message, and its payload schema when no other message uses it."""
    message = components.get("messages", {}).pop(ref.removeprefix("#/components/messages/"), None)
    payload = (message or {}).get("payload", {}).get("$ref", "")
    if not payload.startswith("#/components/schemas/"):
        return
    others = components.get("messages", {}).values()
    still_used = any(other.get("payload", {}).get("$ref") == payload for other in others)
    if not still_used:
        components.get("schemas", {}).pop(payload.removeprefix("#/components/schemas/"), None)


if __name__ == "__main__":
    sys.exit(main())
