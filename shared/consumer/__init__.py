"""Inbound plumbing, in the parts a reader looks for.

- `intake`: subscribe, read batches, apply each message once (inbox), retry, commit offsets;
- `parking`: messages that arrived before what they depend on, replayed when it appears;
- `dead_letters`: what cannot be applied goes to `<topic>.dlq`, and its order hears of it;
- `records`: where a message came from, and how a failure is worded.
"""

from shared.consumer.dead_letters import DeadLetters, Rejection, RejectionHandler, publish_rejections
from shared.consumer.intake import Consumer
from shared.consumer.parking import Parking
from shared.consumer.records import Record

__all__ = ["Consumer", "DeadLetters", "Parking", "Record", "Rejection", "RejectionHandler", "publish_rejections"]
