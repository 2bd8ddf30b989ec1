"""Published schemas: current with the contracts, compatible within a version, usable without Gendan."""

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from pydantic import ValidationError

from shared import schemas
from shared.contracts import EVENT_TYPES, Envelope
from shared.schemas import PARTNER_CONTRACTS, SCHEMA_DIR, Message, breaking_changes, messages

pytestmark = pytest.mark.unit

MESSAGES = messages()
by_key = {"ids": lambda m: m.key}


# --- the committed snapshots ------------------------------------------------------------------------


@pytest.mark.parametrize("message", MESSAGES, **by_key)
def test_snapshot_is_compatible_then_current(message: Message) -> None:
    assert message.path().exists(), f"{message.label}: no schema file yet; run `make schemas`"
    problems = schemas.breaking(message)
    assert not problems, "\n".join(problems)
    generated = schemas.render(message.schema())
    assert message.path().read_text(encoding="utf-8") == generated, (
        f"{message.label}: snapshot outdated, run `make schemas`"
    )


def test_every_schema_file_is_a_message_version() -> None:
    current = {(m.kind, m.name): m.version for m in MESSAGES}
    for path in sorted(SCHEMA_DIR.glob("*/*.json")):
        name, _, version = path.stem.rpartition(".v")
        kind = path.parent.name
        assert (kind, name) in current, f"{path}: no contract generates it; delete it if the message is gone"
        assert int(version) <= current[kind, name], f"{path}: a version newer than the contract's"


# --- the files are what a partner validates against -------------------------------------------------


def committed_schema(message: Message) -> dict[str, Any]:
    """The schema file as a partner reads it."""
    schema: dict[str, Any] = json.loads(message.path().read_text(encoding="utf-8"))
    return schema


def contract_validates(message: Message, instance: dict[str, Any]) -> None:
    """Gendan's own check: the envelope and its payload, or the partner contract."""
    if message.kind == "events":
        envelope = Envelope.model_validate(instance)
        assert envelope.type == message.name and envelope.version == message.version
        EVENT_TYPES[message.name].model_validate(envelope.data)
    else:
        PARTNER_CONTRACTS[message.name].model_validate(instance)


@pytest.mark.parametrize("message", MESSAGES, **by_key)
def test_example_is_valid_for_gendan_and_for_the_schema_file(message: Message) -> None:
    example = schemas.example(message)
    assert example is not None, f"{message.label}: no example; add one to shared/schemas.py"
    contract_validates(message, example)
    errors = [str(error) for error in jsonschema_rs.validator_for(committed_schema(message)).iter_errors(example)]
    assert not errors, errors
    assert committed_schema(message)["examples"] == [example]


def without(message: Message, example: dict[str, Any], field: str) -> dict[str, Any]:
    """The example with one field of the message (of its `data`, for an event) left out."""
    broken: dict[str, Any] = copy.deepcopy(example)
    (broken["data"] if message.kind == "events" else broken).pop(field)
    return broken


@pytest.mark.parametrize("message", MESSAGES, **by_key)
def test_schema_file_refuses_a_missing_required_field_as_gendan_does(message: Message) -> None:
    validator = jsonschema_rs.validator_for(committed_schema(message))
    example = schemas.example(message)
    assert example is not None
    schema = schemas.inline(committed_schema(message))
    for field in (schema["properties"]["data"] if message.kind == "events" else schema)["required"]:
        broken = without(message, example, field)
        assert not validator.is_valid(broken), f"{message.label}: schema accepts a message without `{field}`"
        with pytest.raises(ValidationError):
            contract_validates(message, broken)


def test_event_file_pins_type_and_version() -> None:
    message = next(m for m in MESSAGES if m.name == "production.completed")
    validator = jsonschema_rs.validator_for(committed_schema(message))
    example = schemas.example(message)
    assert example is not None
    assert not validator.is_valid({**example, "type": "production.started"})
    assert not validator.is_valid({**example, "version": message.version + 1})


# --- the versioning rule, on small hand-made schemas ------------------------------------------------

BEFORE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "message_id": {"type": "string"},
        "quantity": {"$ref": "#/$defs/Count"},
        "note": {"type": "string", "default": ""},
        "lines": {"type": "array", "items": {"$ref": "#/$defs/Line"}},
    },
    "required": ["message_id", "quantity"],
    "$defs": {
        "Count": {"type": "integer", "minimum": 0},
        "Line": {
            "type": "object",
            "properties": {"sku": {"type": "string"}, "qty": {"type": "integer"}},
            "required": ["sku"],
        },
    },
}


def edited(**changes: Any) -> dict[str, Any]:
    """BEFORE with properties, required or $defs replaced."""
    schema: dict[str, Any] = json.loads(json.dumps(BEFORE))
    for key, value in changes.items():
        if key == "line":
            schema["$defs"]["Line"] = value
        else:
            schema[key] = value
    return schema


def fields(**extra: Any) -> dict[str, Any]:
    """BEFORE's properties, with some replaced, added, or removed (value None)."""
    props = {**BEFORE["properties"], **extra}
    return {name: schema for name, schema in props.items() if schema is not None}


def test_identical_schemas_are_compatible() -> None:
    assert breaking_changes(BEFORE, BEFORE) == []


def test_an_added_optional_field_is_compatible() -> None:
    after = edited(properties=fields(operation={"type": "string", "default": ""}))
    assert breaking_changes(BEFORE, after) == []


def test_descriptions_defaults_and_bounds_are_not_the_rule_s_business() -> None:
    after = edited(properties=fields(note={"type": "string", "default": "-", "description": "A note.", "maxLength": 9}))
    assert breaking_changes(BEFORE, after) == []


def test_a_removed_field_is_breaking() -> None:
    assert breaking_changes(BEFORE, edited(properties=fields(quantity=None))) == ["field `quantity` removed"]


def test_a_removed_optional_field_is_breaking_too() -> None:
    assert breaking_changes(BEFORE, edited(properties=fields(note=None))) == ["field `note` removed"]


def test_a_changed_type_is_breaking_through_refs() -> None:
    after = edited(properties=fields(quantity={"type": "string"}))
    assert breaking_changes(BEFORE, after) == ["field `quantity` changed type from integer to string"]


def test_a_field_made_nullable_or_given_another_format_is_a_changed_type() -> None:
    nullable = edited(properties=fields(note={"anyOf": [{"type": "string"}, {"type": "null"}]}))
    dated = edited(properties=fields(note={"type": "string", "format": "date"}))
    assert breaking_changes(BEFORE, nullable) == ["field `note` changed type from string to null | string"]
    assert breaking_changes(BEFORE, dated) == ["field `note` changed type from string to string:date"]


def test_a_new_required_field_is_breaking() -> None:
    after = edited(properties=fields(batch={"type": "string"}), required=["message_id", "quantity", "batch"])
    assert breaking_changes(BEFORE, after) == ["field `batch` added as required"]


def test_an_optional_field_made_required_is_breaking() -> None:
    after = edited(required=["message_id", "quantity", "note"])
    assert breaking_changes(BEFORE, after) == ["field `note` made required (it was optional)"]


def test_nested_fields_in_array_items_are_checked() -> None:
    line = {"type": "object", "properties": {"sku": {"type": "integer"}}, "required": ["sku", "qty"]}
    assert breaking_changes(BEFORE, edited(line=line)) == [
        "field `lines[].sku` changed type from string to integer",
        "field `lines[].qty` removed",
    ]


def test_required_becomes_optional_is_compatible() -> None:
    assert breaking_changes(BEFORE, edited(required=["message_id"])) == []


# --- the rule on the real contracts and the command -------------------------------------------------


def message_on(topic: str) -> Message:
    return next(m for m in MESSAGES if m.name == topic)


def write_snapshot(root: Path, message: Message, schema: dict[str, Any]) -> Path:
    path = message.path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(schemas.render(schema), encoding="utf-8")
    return path


def test_breaking_names_the_message_the_field_and_what_to_do(tmp_path: Path) -> None:
    mes = message_on("mes.events")
    snapshot = mes.schema()
    snapshot["properties"]["quantity"] = {"type": "integer", "default": 0}  # the contract has no `quantity` now
    write_snapshot(tmp_path, mes, snapshot)

    assert schemas.breaking(mes, tmp_path) == ["mes.events v1: field `quantity` removed — breaking; add a new version"]


def test_make_schemas_refuses_a_breaking_change_and_keeps_the_snapshot(tmp_path: Path) -> None:
    mes = message_on("mes.events")
    snapshot = mes.schema()
    snapshot["properties"]["quantity"] = {"type": "integer", "default": 0}
    path = write_snapshot(tmp_path, mes, snapshot)

    assert schemas.main(["--root", str(tmp_path)]) == 1
    assert json.loads(path.read_text(encoding="utf-8")) == snapshot
    assert schemas.main(["--root", str(tmp_path), "--allow-breaking"]) == 0
    assert path.read_text(encoding="utf-8") == schemas.render(mes.schema())


def test_an_additive_change_is_only_an_outdated_snapshot(tmp_path: Path) -> None:
    mes = message_on("mes.events")
    snapshot = mes.schema()
    del snapshot["properties"]["operation"]  # the contract has since gained the optional `operation`
    path = write_snapshot(tmp_path, mes, snapshot)

    assert schemas.breaking(mes, tmp_path) == []
    assert path.read_text(encoding="utf-8") != schemas.render(mes.schema())
    assert schemas.main(["--root", str(tmp_path)]) == 0
    assert path.read_text(encoding="utf-8") == schemas.render(mes.schema())
    assert len(list(tmp_path.glob("*/*.json"))) == len(MESSAGES)
