"""What a handler raises when a message cannot be applied now, or ever."""


class NotYet(Exception):
    """The message depends on `key`, which this service has not seen yet: park it, don't fail."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(reason)
        self.key = key


class Invalid(ValueError):
    """The message is well-formed but cannot be applied, e.g. a carrier reporting another's shipment.

    Dead-lettered at once with the reason; retrying would not change the answer."""


class Unpublishable(Invalid):
    """An event this message would cause cannot be published (too large for Kafka): nothing is applied."""


class NotFound(LookupError):
    """What a person asked for is not there (answered 404); a distinct type so a KeyError of a bug is not."""
