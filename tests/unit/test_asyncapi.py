"""Each service's AsyncAPI document names every topic it reads and the one it writes."""

import pytest

from services.billing.app import SPEC as BILLING
from services.logistics.app import SPEC as LOGISTICS
from services.order.app import SPEC as ORDER
from services.production.app import SPEC as PRODUCTION
from shared.clock import SystemClock
from shared.service import ServiceSpec, asyncapi_document, build_runtime

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("spec", [ORDER, PRODUCTION, LOGISTICS, BILLING], ids=lambda s: s.name)
def test_asyncapi_lists_subscriptions_and_the_outbound_topic(spec: ServiceSpec) -> None:
    runtime = build_runtime(spec, spec.settings(), SystemClock())  # builds, connects to nothing

    document = asyncapi_document(runtime)

    addresses = {channel["address"] for channel in document["channels"].values()}
    assert addresses == {sub.topic for sub in spec.subscriptions} | {spec.topic}
    actions = {op["action"] for op in document["operations"].values()}
    assert actions == {"receive", "send"}
    assert "Envelope" in str(document["components"]), "the outbound events' schema is missing"
