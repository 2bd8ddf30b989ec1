"""JSON logging: one object per line with the correlation id; aiokafka's reconnect storms throttled."""

import json
import logging

import pytest

from shared.logs import JsonFormatter, Throttle, correlation_id

pytestmark = pytest.mark.unit


def record(name: str, msg: str, created: float) -> logging.LogRecord:
    r = logging.LogRecord(name, logging.ERROR, __file__, 1, msg, ("node 1",), None)
    r.created = created
    return r


def test_json_line_carries_the_correlation_id() -> None:
    token = correlation_id.set("flow-7")
    try:
        line = json.loads(JsonFormatter().format(record("gendan.order", "failed %s", 0.0)))
    finally:
        correlation_id.reset(token)
    assert line["msg"] == "failed node 1" and line["correlation_id"] == "flow-7" and line["level"] == "ERROR"


def test_repeated_kafka_errors_pass_once_per_window_with_a_count() -> None:
    throttle = Throttle(seconds=10)
    passed = [throttle.filter(record("aiokafka.conn", "Unable to connect %s", t)) for t in (0, 1, 2, 3, 11)]
    assert passed == [True, False, False, False, True]
    assert throttle.last["aiokafka.conn:Unable to connect %s"] == (11, 0)
    assert all(throttle.filter(record("gendan.order", "same", t)) for t in (0, 1, 2))
