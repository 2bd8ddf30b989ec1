"""A malformed-message storm on the running system: every bad message dead-lettered with its reason, the
good orders among them closed, no process restarted (the full 10,000 runs in `make chaos`)."""

import pytest

from deploy.system import System
from tests.chaos import storm

pytestmark = pytest.mark.e2e


async def test_a_storm_of_bad_messages_is_dead_lettered_and_orders_still_close(shared_system: System) -> None:
    found = await storm(shared_system, 1000, timeout=120)
    assert found["dead_lettered"] == found["sent"] == 1000, found
    assert found["orders_closed"] == found["orders"] == 20, found
    assert found["restarted"] == [], found
