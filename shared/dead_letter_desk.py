"""Dead letters a person can work: list what a service dead-lettered, with why; replay one to its topic
once the cause is fixed, or discard it with a reason. Every act is recorded with who and when."""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, status
from pydantic import BaseModel, Field
from sqlmodel import col, select

from shared import auth
from shared.broker import kafka_options
from shared.consumer.records import Record
from shared.db import DeadLetterAction
from shared.fields import Text, scrub
from shared.http import Actor
from shared.topics import dlq, physical

REPLAYED, DISCARDED = "replayed", "discarded"
BODY_SHOWN = 4000
REPLAY_HEADER = "x-replayed-from"


class DeadLetter(BaseModel):
    """One dead-lettered message, as a person reads it."""

    topic: str = Field(description="The topic it was read from.")
    partition: int
    offset: int = Field(description="Its offset in the dead-letter topic.")
    key: str | None
    reason: str
    original_partition: int | None
    original_offset: int | None
    failed_at: str | None
    body: str = Field(description=f"The message, at most {BODY_SHOWN} characters of it.")
    status: str = Field(description="open, replayed or discarded")
    handled_by: str | None = None
    handled_at: datetime | None = None
    note: str | None = None


class Discard(BaseModel):
    reason: Text = Field(description="Why it will not be replayed.")


async def read(bootstrap: str, topic: str, prefix: str, limit: int) -> list[tuple[Any, dict[str, str]]]:
    """The newest `limit` records of each partition of `<topic>.dlq`, oldest first."""
    name = physical(dlq(topic), prefix)
    admin = AIOKafkaAdminClient(**kafka_options(bootstrap))
    reader = AIOKafkaConsumer(**kafka_options(bootstrap), enable_auto_commit=False)
    await admin.start()
    await reader.start()
    try:
        [described] = await admin.describe_topics([name])
        partitions = [TopicPartition(name, p["partition"]) for p in described["partitions"]]
        ends = await reader.end_offsets(partitions)
        reader.assign(partitions)
        for tp in partitions:
            reader.seek(tp, max(ends[tp] - limit, 0))
        records: list[Any] = []
        wanted = sum(min(ends[tp], limit) for tp in partitions)
        while len(records) < wanted:
            batch = await reader.getmany(timeout_ms=1000)
            if not batch:
                break
            records += [r for rs in batch.values() for r in rs if r.offset < ends[TopicPartition(r.topic, r.partition)]]
        records.sort(key=lambda r: (r.timestamp, r.partition, r.offset))
        return [(r, {k: (v or b"").decode(errors="replace") for k, v in r.headers or ()}) for r in records]
    finally:
        await reader.stop()
        await admin.close()


def _shown(topic: str, record: Any, headers: dict[str, str], action: DeadLetterAction | None) -> DeadLetter:
    return DeadLetter(
        topic=topic,
        partition=record.partition,
        offset=record.offset,
        key=scrub(record.key.decode(errors="replace"), 200) if record.key else None,
        reason=scrub(headers.get("x-dlq-reason", ""), 1000),
        original_partition=_number(headers, "x-original-partition"),
        original_offset=_number(headers, "x-original-offset"),
        failed_at=headers.get("x-failed-at"),
        body=scrub((record.value or b"").decode(errors="replace"), BODY_SHOWN),
        status=action.action if action else "open",
        handled_by=action.by if action else None,
        handled_at=action.at if action else None,
        note=action.note if action else None,
    )


def _runtime(request: Request) -> Any:
    return request.app.state.runtime


RuntimeDep = Annotated[Any, Depends(_runtime)]  # the service's Runtime (shared.service imports this module)
Topic = Annotated[str, Path(max_length=64, description="A topic this service consumes, e.g. mes.events.")]
Position = Annotated[int, Path(ge=0, le=2**62)]
router = APIRouter(prefix="/dead-letters", tags=["operations"])


def consumed(runtime: Any, topic: str) -> str:
    if topic not in runtime.consumer.subscriptions:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"this service does not consume {topic}")
    return topic


async def ours(runtime: Any, topic: str, limit: int) -> list[tuple[Any, dict[str, str]]]:
    """The dead letters this service wrote for a topic (every service reading a topic shares its `.dlq`)."""
    settings, group = runtime.settings, runtime.consumer.group(topic)
    records = await read(settings.kafka_bootstrap_servers, topic, settings.topic_prefix, limit)
    return [(record, headers) for record, headers in records if headers.get("x-consumer-group") == group]


async def actions(runtime: Any, topic: str) -> dict[tuple[int, int], DeadLetterAction]:
    query = select(DeadLetterAction).where(DeadLetterAction.topic == topic)
    async with runtime.sessions() as session:
        return {(a.partition, a.offset): a for a in (await session.exec(query)).all()}


@router.get("/{topic}", response_model=list[DeadLetter])
async def list_dead_letters(
    topic: Topic, runtime: RuntimeDep, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[DeadLetter]:
    """The newest dead letters of one consumed topic (up to `limit` per partition), with reason and status."""
    consumed(runtime, topic)
    records = await ours(runtime, topic, limit)
    done = await actions(runtime, topic)
    return [_shown(topic, r, h, done.get((r.partition, r.offset))) for r, h in records]


async def find(runtime: Any, topic: str, partition: int, offset: int) -> tuple[Any, dict[str, str]]:
    for record, headers in await ours(runtime, topic, 500):
        if (record.partition, record.offset) == (partition, offset):
            return record, headers
    raise HTTPException(status.HTTP_404_NOT_FOUND, f"no dead letter {topic} {partition}/{offset} (or too old)")


@asynccontextmanager
async def record_act(
    runtime: Any, topic: str, partition: int, offset: int, act: str, by: str, note: str
) -> AsyncIterator[None]:
    """Record what a person does with a dead letter; what they do inside commits with the record, or not at all."""
    async with runtime.units() as uow:
        query = select(DeadLetterAction).where(
            DeadLetterAction.topic == topic,
            DeadLetterAction.partition == partition,
            col(DeadLetterAction.offset) == offset,
        )
        if (found := (await uow.session.exec(query)).first()) is not None:
            raise HTTPException(status.HTTP_409_CONFLICT, f"already {found.action} by {found.by} at {found.at}")
        at = uow.clock.now()
        uow.session.add(
            DeadLetterAction(topic=topic, partition=partition, offset=offset, action=act, by=by, at=at, note=note)
        )
        await uow.session.flush()  # a second person acting on it at once is refused here (unique)
        yield


async def _replay(runtime: Any, topic: str, record: Any, headers: dict[str, str], actor: str) -> None:
    """Apply a dead letter again through the consumer's own path (its inbox: a message already applied is
    not applied twice); invalid still, it is dead-lettered again with the new reason. Nothing is published
    to the topic, which belongs to its producer (a service may not write a partner's topic)."""
    kept = {k: v for k, v in headers.items() if not k.startswith("x-")}
    kept[REPLAY_HEADER] = json.dumps({"partition": record.partition, "offset": record.offset})
    original = Record(
        topic=topic,
        partition=_or(_number(headers, "x-original-partition"), record.partition),
        offset=_or(_number(headers, "x-original-offset"), record.offset),
        key=record.key.decode(errors="replace") if record.key else None,
        headers=kept,
    )
    async with record_act(runtime, topic, record.partition, record.offset, REPLAYED, actor, ""):
        pass  # recorded first: a second replay of the same dead letter is refused (409)
    await runtime.consumer.deliver(runtime.consumer.subscriptions[topic], record.value or b"", original)


def _or(found: int | None, default: int) -> int:
    return default if found is None else found


def _number(headers: dict[str, str], name: str) -> int | None:
    """A number the dead letter's headers carry (its origin), if they carry one."""
    value = headers.get(name, "")
    return int(value) if value.isdigit() else None


@router.post("/{topic}/{partition}/{offset}/replay", response_model=DeadLetter, dependencies=[Depends(auth.allow())])
async def replay(topic: Topic, partition: Position, offset: Position, actor: Actor, runtime: RuntimeDep) -> DeadLetter:
    """Apply a dead letter again (after the cause was fixed), as the consumer would have."""
    consumed(runtime, topic)
    record, headers = await find(runtime, topic, partition, offset)
    await _replay(runtime, topic, record, headers, actor)
    return _shown(topic, record, headers, (await actions(runtime, topic)).get((partition, offset)))


class Positions(BaseModel):
    positions: Annotated[list[tuple[Position, Position]], Field(min_length=1, max_length=500)] = Field(
        description="[partition, offset] of each dead letter to replay."
    )


@router.post("/{topic}/replay", response_model=list[DeadLetter], dependencies=[Depends(auth.allow())])
async def replay_many(topic: Topic, body: Positions, actor: Actor, runtime: RuntimeDep) -> list[DeadLetter]:
    """Replay several dead letters of a topic in order; ones already replayed or discarded are skipped."""
    consumed(runtime, topic)
    found = {(r.partition, r.offset): (r, h) for r, h in await ours(runtime, topic, 500)}
    wanted = [(int(p), int(o)) for p, o in body.positions]
    missing = [p for p in wanted if p not in found]
    if missing:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no dead letters at {missing} (or too old)")
    done = await actions(runtime, topic)
    for position in wanted:
        if position not in done:
            record, headers = found[position]
            await _replay(runtime, topic, record, headers, actor)
    done = await actions(runtime, topic)
    return [_shown(topic, *found[p], done.get(p)) for p in wanted]


@router.post("/{topic}/{partition}/{offset}/discard", response_model=DeadLetter, dependencies=[Depends(auth.allow())])
async def discard(
    topic: Topic, partition: Position, offset: Position, body: Discard, actor: Actor, runtime: RuntimeDep
) -> DeadLetter:
    """Mark a dead letter as dealt with, without replaying it, and say why."""
    consumed(runtime, topic)
    record, headers = await find(runtime, topic, partition, offset)
    async with record_act(runtime, topic, partition, offset, DISCARDED, actor, body.reason):
        pass
    return _shown(topic, record, headers, (await actions(runtime, topic)).get((partition, offset)))
