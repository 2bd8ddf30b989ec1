"""`python -m deploy.demo`: the whole system up, one real order flowing from intake to cash.

Finds or starts Kafka and PostgreSQL (see deploy/infra.py), starts the four services and the
simulated partners as processes, posts an order and follows it until it is closed.
With --keep-running the system stays up afterwards (Ctrl-C stops it).
"""

import argparse
import asyncio
import contextlib
import json
import signal
import time
from datetime import UTC, date, datetime, timedelta

from aiokafka import AIOKafkaProducer

from deploy.infra import servers
from deploy.system import System
from shared import topics
from shared.broker import kafka_options
from shared.contracts import CarrierException, CarrierStatus, CarrierTracking
from shared.topics import physical


def sample_order(ref: str) -> dict[str, object]:
    """An order as a customer's purchasing system would post it."""
    return {
        "customer": "ACME Industrial",
        "external_ref": ref,
        "currency": "USD",
        "delivery_date": (date.today() + timedelta(days=45)).isoformat(),
        "delivery_address": "88 Harbour Road, Shenzhen",
        "destination_country": "CN",
        "contact": "purchasing@acme.example",
        "lines": [
            {"line_no": 1, "product": "GX-200 gearbox", "spec": "RAL 5015", "quantity": 120, "unit_price": "84.50"}
        ],
    }


async def follow(system: System, ref: str, timeout: float = 120) -> dict[str, object]:
    """Post one order and poll it until closed; returns the final order."""
    async with system.client("order", timeout=10) as client:
        created = (await client.post("/orders", json=sample_order(ref))).raise_for_status().json()
        print(f"order {created['id']} taken in ({created['status']}): reviewed, then followed to closed")
        seen, deadline = 0, time.monotonic() + timeout
        while time.monotonic() < deadline:
            order = (await client.get(f"/orders/{created['id']}")).raise_for_status().json()
            for entry in order["timeline"][seen:]:
                print(f"  {entry['occurred_at'][11:23]}  {entry['source']:<10} {entry['type']}")
            seen = len(order["timeline"])
            if order["status"] == "closed":
                return dict(order)
            await asyncio.sleep(0.3)
    raise TimeoutError(f"order {created['id']} not closed after {timeout}s")


async def exception_round_trip(system: System, order_id: str, timeout: float = 60) -> None:
    """The carrier reports the delivered goods damaged: the board shows it, a person resolves it."""
    async with system.client("logistics", timeout=10) as client:
        [shipment] = (await client.get("/shipments", params={"order_id": order_id})).json()
        scan = CarrierTracking(
            message_id=f"demo-damage-{order_id}",
            occurred_at=datetime.now(UTC),
            carrier=shipment["carrier"],
            tracking_number=shipment["tracking_number"],
            status=CarrierStatus.EXCEPTION,
            exception_code=CarrierException.DAMAGE,
            remark="2 cartons crushed, found at unloading",
        )
        producer = AIOKafkaProducer(**kafka_options(settings=system.as_principal("carrier")))
        await producer.start()
        try:
            topic = physical(topics.CARRIER_TRACKING, system.topic_prefix)
            await producer.send_and_wait(topic, scan.model_dump_json().encode(), key=scan.tracking_number.encode())
        finally:
            await producer.stop()
        board, deadline = system.url("order") + "/exceptions", time.monotonic() + timeout
        while time.monotonic() < deadline:
            if found := (await client.get(board, params={"order_id": order_id})).json():
                raised = found[0]
                print(f"exception {raised['kind']} ({raised['severity']}, cause {raised['cause']}): {raised['title']}")
                done = await client.post(
                    f"{board}/{raised['id']}/resolve",
                    json={"reason": "replacement cartons shipped"},
                    headers={"X-Actor": "demo.merchandiser"},
                )
                resolved = done.raise_for_status().json()
                print(f"exception resolved by {resolved['resolved_by']}: {resolved['resolution']}")
                return
            await asyncio.sleep(0.3)
    raise TimeoutError(f"no exception on the board for {order_id} after {timeout}s")


async def main(keep_running: bool) -> None:
    stop = asyncio.current_task()
    assert stop is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.cancel)  # stop the services too
    with servers() as found:
        print(f"Kafka {found.kafka}, PostgreSQL {found.postgres} ({found.how})")
        system = System(found.kafka, found.postgres, default_ports=True)
        try:
            started = time.monotonic()
            await system.up()
            print(f"services up in {time.monotonic() - started:.1f}s: " + json.dumps(system.ports))
            order = await follow(system, f"DEMO-{int(time.time())}")
            print(f"order {order['id']} closed: delivered {order['delivered_at']}, paid {order['settled_at']}")
            await exception_round_trip(system, str(order["id"]))
            print(f"console: {system.url('order')}/console/orders/{order['id']} (development sign-in: /console/login)")
            if system.issuer is not None:
                token = system.issuer.token("demo.merchandiser", ["merchandiser"])
                print(f"API token (merchandiser, 12 h), as `Authorization: Bearer ...`: {token}")
            if keep_running:
                print("system running; Ctrl-C stops it")
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.Event().wait()
        finally:
            system.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep-running", action="store_true", help="leave the system up after the order closes")
    with contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError):
        asyncio.run(main(parser.parse_args().keep_running))
