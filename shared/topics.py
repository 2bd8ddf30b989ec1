"""Topic registry: every topic Gendan reads or writes, and its dead-letter twin."""

ERP_ORDERS = "erp.orders"
MES_EVENTS = "mes.events"
SUPPLIER_EVENTS = "supplier.events"
WMS_EVENTS = "wms.events"
CARRIER_TRACKING = "carrier.tracking"
FINANCE_PAYMENTS = "finance.payments"

ORDER_EVENTS = "order.events"
PRODUCTION_EVENTS = "production.events"
LOGISTICS_EVENTS = "logistics.events"
BILLING_EVENTS = "billing.events"

PARTNER_TOPICS = (ERP_ORDERS, MES_EVENTS, SUPPLIER_EVENTS, WMS_EVENTS, CARRIER_TRACKING, FINANCE_PAYMENTS)
SERVICE_TOPICS = (ORDER_EVENTS, PRODUCTION_EVENTS, LOGISTICS_EVENTS, BILLING_EVENTS)

DLQ_SUFFIX = ".dlq"


def dlq(topic: str) -> str:
    """The dead-letter topic of `topic`."""
    return topic + DLQ_SUFFIX


def all_topics() -> tuple[str, ...]:
    """Every topic with its dead-letter topic, for provisioning."""
    base = PARTNER_TOPICS + SERVICE_TOPICS
    return base + tuple(dlq(t) for t in base)


def physical(topic: str, prefix: str) -> str:
    """The name on the broker: a deployment may prefix every topic (an environment, a test run)."""
    return prefix + topic
