"""A person works the dead letters of a running service: lists them with the reason, discards one with a
reason, replays another through the consumer (it is applied again: here it fails again and lands once more)."""

import asyncio
import json
import time
from typing import Any
from uuid import uuid4

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from deploy import dead_letters as cli
from deploy.system import System
from shared import topics
from shared.broker import kafka_options

pytestmark = pytest.mark.e2e
PERSON = {"X-Actor": "ops.wang"}


async def mine(client: httpx.AsyncClient, marker: str, count: int, timeout: float = 60) -> list[dict[str, Any]]:
    """The dead letters of mes.events whose body carries `marker`, once there are `count` of them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [d for d in (await client.get("/dead-letters/mes.events")).json() if marker in d["body"]]
        if len(found) >= count:
            return found
        await asyncio.sleep(0.3)
    raise AssertionError(f"{count} dead letters with {marker} not there after {timeout} s")


async def test_dead_letters_are_listed_discarded_and_replayed(
    shared_system: System, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run = uuid4().hex[:8]
    producer = AIOKafkaProducer(**kafka_options(shared_system.kafka))
    await producer.start()
    try:
        for n in (1, 2):
            body = json.dumps({"message_id": f"dl-{run}-{n}", "type": "started"}).encode()  # no occurred_at
            await producer.send_and_wait(shared_system.topic_prefix + topics.MES_EVENTS, body, key=b"WO-x")
    finally:
        await producer.stop()
    async with shared_system.client("production", timeout=30) as client:
        first, second = sorted(await mine(client, f"dl-{run}-", 2), key=lambda d: d["body"])
        assert first["status"] == "open" and first["reason"].startswith("schema-invalid: occurred_at")
        assert first["key"] == "WO-x" and first["original_offset"] is not None

        where = f"/dead-letters/mes.events/{first['partition']}/{first['offset']}"
        discarded = await client.post(f"{where}/discard", json={"reason": "test message"}, headers=PERSON)
        assert discarded.status_code == 200, discarded.text
        assert (discarded.json()["status"], discarded.json()["handled_by"]) == ("discarded", "ops.wang")
        again = await client.post(f"{where}/replay", headers=PERSON)
        assert again.status_code == 409 and "discarded by ops.wang" in again.json()["detail"]

        where = f"/dead-letters/mes.events/{second['partition']}/{second['offset']}"
        replayed = await client.post(f"{where}/replay", headers=PERSON)
        assert replayed.status_code == 200 and replayed.json()["status"] == "replayed"
        back = await mine(client, f"dl-{run}-2", 2)  # read again from mes.events, and refused again
        assert {d["status"] for d in back} == {"replayed", "open"}

        url = shared_system.url("production")
        token = shared_system.headers("ops.wang").get("Authorization", "").removeprefix("Bearer ")
        monkeypatch.setenv("GENDAN_TOKEN", token)  # the terminal's sign-in
        assert await asyncio.to_thread(cli.main, ["list", "--url", url, "mes.events"]) == 0  # the same from a terminal
        listed = json.loads(capsys.readouterr().out)
        assert {"discarded", "replayed"} <= {d["status"] for d in listed if f"dl-{run}-" in d["body"]}
        refused = ["discard", "--url", url, "--as", "ops.wang", "mes.events", str(first["partition"])]
        assert await asyncio.to_thread(cli.main, [*refused, str(first["offset"]), "again"]) == 1  # done once

        assert (await client.get("/dead-letters/erp.orders")).status_code == 404  # production does not read it
        async with httpx.AsyncClient(base_url=url) as anonymous:
            assert (await anonymous.post(f"{where}/replay")).status_code == 401  # who acts must be signed in
        viewer = await client.post(f"{where}/replay", headers=shared_system.headers("v.iewer", ("viewer",)))
        assert viewer.status_code == 403  # and a supervisor
