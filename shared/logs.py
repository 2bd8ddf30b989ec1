"""JSON logging with the correlation id of the event being handled."""

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, correlation id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if cid := correlation_id.get():
            entry["correlation_id"] = cid
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class Throttle(logging.Filter):
    """Let the same aiokafka message through at most once per `seconds`; counts what it held back.

    aiokafka logs every failed reconnect, tens of thousands of lines while a broker restarts."""

    def __init__(self, seconds: float = 10.0, prefix: str = "aiokafka") -> None:
        super().__init__()
        self.seconds, self.prefix = seconds, prefix
        self.last: dict[str, tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(self.prefix):
            return True
        key = f"{record.name}:{record.msg}"
        when, held = self.last.get(key, (float("-inf"), 0))
        if record.created - when < self.seconds:
            self.last[key] = (when, held + 1)
            return False
        if held:
            record.fields = {**getattr(record, "fields", {}), "repeats_held_back": held}
        self.last[key] = (record.created, 0)
        return True


def setup_logging(service: str, level: str = "INFO") -> None:
    """Route every logger to stderr as JSON."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    handler.addFilter(Throttle())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("aiokafka").setLevel("WARNING")
    logging.getLogger(service).setLevel(level)
