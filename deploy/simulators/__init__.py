"""Simulated partners: an MES, a WMS, a carrier and a finance system answering Gendan's events.

They speak only over the partner topics and contracts a real partner uses, with configurable
delays. Message ids are derived from what they answer, so a replayed answer is a duplicate.
One module per partner domain; `Partners` is all of them on one broker.
"""

from collections.abc import Mapping

from faststream import AckPolicy, FastStream
from faststream.kafka.annotations import KafkaMessage

from deploy.simulators.base import Answer, Partner, SimulatorSettings, message_id
from deploy.simulators.factory import Factory
from deploy.simulators.finance import Finance
from deploy.simulators.logistics import Logistics
from shared.broker import make_broker
from shared.contracts import Envelope
from shared.topics import physical

__all__ = ["Partner", "Partners", "SimulatorSettings", "build", "message_id"]


class Partners(Factory, Logistics, Finance):
    """All simulated partners on one broker."""

    def register(self) -> None:
        """Subscribe each partner to the events it answers."""
        for topic, answers in self.routes().items():
            self._subscribe(topic, {model.event_type: answer for model, answer in answers.items()})

    def _subscribe(self, topic: str, answers: Mapping[str, Answer]) -> None:
        prefix = self.settings.topic_prefix

        @self.broker.subscriber(
            physical(topic, prefix),
            group_id=f"{prefix}gendan-simulators.{topic}",
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.ACK,
        )
        async def on_event(msg: KafkaMessage) -> None:
            event = Envelope.model_validate_json(msg.body)
            if answer := answers.get(event.type):
                self.later(lambda: answer(event))


def build(settings: SimulatorSettings | None = None) -> FastStream:
    """The simulators as a FastStream app."""
    settings = settings or SimulatorSettings()
    broker = make_broker(settings)
    Partners(broker, settings).register()
    return FastStream(broker)
