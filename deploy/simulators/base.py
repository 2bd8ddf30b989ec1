"""What every simulated partner shares: settings, stable message ids, publishing, pacing."""

import asyncio
import random
from collections.abc import Callable, Coroutine
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from faststream.kafka import KafkaBroker
from pydantic import Field

from shared.clock import SystemClock
from shared.contracts import Envelope, EventData, PartnerMessage
from shared.settings import ServiceSettings
from shared.topics import physical

Answer = Callable[[Envelope], Coroutine[Any, Any, None]]
Routes = dict[str, dict[type[EventData], Answer]]
clock = SystemClock()


class SimulatorSettings(ServiceSettings):
    service_name: str = "simulators"
    sim_delay_seconds: float = Field(default=0.05, ge=0, description="Pause before each partner answer.")
    sim_jitter_seconds: float = Field(default=0.05, ge=0)
    sim_mes_completes: bool = Field(default=True, description="False: the MES reports work orders started, never done.")
    sim_finance_pays: bool = Field(default=True, description="False: finance never pays (a test pays by hand).")


def message_id(*parts: object) -> str:
    """A partner's message id, stable for the same answer."""
    return str(uuid5(NAMESPACE_URL, "gendan-sim:" + ":".join(map(str, parts))))


class Partner:
    """The base of each simulated partner: one broker, its settings, answers paced like a real system's."""

    def __init__(self, broker: KafkaBroker, settings: SimulatorSettings) -> None:
        self.broker, self.settings = broker, settings
        self.pending: set[asyncio.Task[None]] = set()

    def routes(self) -> Routes:
        """Topic -> event model -> the answer; each partner adds its own."""
        return {}

    async def pause(self) -> None:
        s = self.settings
        await asyncio.sleep(s.sim_delay_seconds + random.uniform(0, s.sim_jitter_seconds))

    async def send(self, topic: str, key: str, message: PartnerMessage) -> None:
        await self.broker.publish(
            message.model_dump_json().encode(), physical(topic, self.settings.topic_prefix), key=key.encode()
        )

    def later(self, steps: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Answer in the background so one slow partner conversation does not hold up the others."""
        task = asyncio.create_task(steps())
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)
