"""Kill -9 a service while orders are in flight: every order still closes, nothing is duplicated."""

import asyncio

import pytest

from deploy.system import SERVICES, System
from tests.e2e.flows import assert_exactly_once, order_body, post_orders, rows, wait_closed

pytestmark = pytest.mark.e2e


@pytest.mark.sim_delay(0.1)  # each order then takes over a second: the kill finds them in flight
@pytest.mark.parametrize("victim", SERVICES)
async def test_killed_service_loses_and_duplicates_nothing(system: System, victim: str) -> None:
    bodies = [order_body(n) for n in range(20)]
    orders = await post_orders(system, bodies)
    await asyncio.sleep(0.4)

    system.kill(victim)
    in_flight = await rows(system, "order", "SELECT count(*) AS n FROM orders WHERE status <> 'closed'")
    await asyncio.sleep(1.0)
    system.start(victim)
    await system.wait_healthy(victim)

    await wait_closed(system, [o["id"] for o in orders])
    await assert_exactly_once(system, orders, bodies)
    assert in_flight[0]["n"] > 0, "the kill came after every order had closed: nothing was tested"
