"""The registry of exception kinds: what can go wrong at each stage, how bad it is by default, whose job
it is to chase, and how long they have before it is escalated.

Each service raises only the kinds of its own stage (the prefix of the kind names the service).
"""

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum


class Severity(StrEnum):
    """How bad an exception is, in rising order; escalation moves it up one step."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)

    def raised(self) -> "Severity":
        """One step more severe (critical stays critical)."""
        return list(Severity)[min(self.rank + 1, len(Severity) - 1)]


class Stage(StrEnum):
    ORDER = "order"
    PRODUCTION = "production"
    LOGISTICS = "logistics"
    BILLING = "billing"


class Cause(StrEnum):
    """Who the delay or defect is attributed to, so "why was this order late" is answered from data."""

    INTERNAL = "internal"
    SUPPLIER = "supplier"
    CARRIER = "carrier"
    CUSTOMER = "customer"
    UNKNOWN = "unknown"


class Role(StrEnum):
    """Who chases an exception of a kind by default."""

    MERCHANDISER = "merchandiser"
    PLANNER = "production_planner"
    LOGISTICS = "logistics_coordinator"
    FINANCE = "finance"
    SUPERVISOR = "supervisor"


@dataclass(frozen=True)
class Kind:
    """One kind of exception and its defaults."""

    name: str
    stage: Stage
    severity: Severity
    owner: Role
    deadline: timedelta
    cause: Cause
    action: str
    meaning: str


def _kinds(*kinds: Kind) -> dict[str, Kind]:
    return {k.name: k for k in kinds}


HOUR = timedelta(hours=1)

KINDS = _kinds(
    Kind(
        "order.stalled",
        Stage.ORDER,
        Severity.MEDIUM,
        Role.MERCHANDISER,
        4 * HOUR,
        Cause.UNKNOWN,
        "Ask the stage's owner what holds the order up.",
        "No lifecycle event for longer than the stage's limit.",
    ),
    Kind(
        "order.past_due",
        Stage.ORDER,
        Severity.HIGH,
        Role.MERCHANDISER,
        4 * HOUR,
        Cause.UNKNOWN,
        "Tell the customer the new date and find out where the goods are.",
        "The promised delivery date has passed and the order is not delivered.",
    ),
    Kind(
        "order.event_rejected",
        Stage.ORDER,
        Severity.HIGH,
        Role.SUPERVISOR,
        2 * HOUR,
        Cause.INTERNAL,
        "Read the dead letter's reason, fix the data or the code, replay it.",
        "A service could not apply one of the order's events; it sits in a dead-letter topic.",
    ),
    Kind(
        "order.clarification_overdue",
        Stage.ORDER,
        Severity.MEDIUM,
        Role.MERCHANDISER,
        8 * HOUR,
        Cause.CUSTOMER,
        "Call the customer for the written answer, or amend the order and close the question.",
        "A question to the customer about an order under review is unanswered past its deadline.",
    ),
    Kind(
        "order.review_overdue",
        Stage.ORDER,
        Severity.MEDIUM,
        Role.SUPERVISOR,
        8 * HOUR,
        Cause.INTERNAL,
        "Ask the department to approve or reject the order.",
        "A department has not decided on an order under review by the review deadline.",
    ),
    Kind(
        "order.change_unanswered",
        Stage.ORDER,
        Severity.HIGH,
        Role.MERCHANDISER,
        4 * HOUR,
        Cause.INTERNAL,
        "Ask the silent department for its impact assessment; the change waits for it.",
        "A service has not assessed a change request or cancellation by its deadline.",
    ),
    Kind(
        "production.no_mes_report",
        Stage.PRODUCTION,
        Severity.MEDIUM,
        Role.PLANNER,
        4 * HOUR,
        Cause.INTERNAL,
        "Call the workshop: is the work order running, and is the MES reporting?",
        "A started work order has had no MES report for longer than the limit.",
    ),
    Kind(
        "production.short_quantity",
        Stage.PRODUCTION,
        Severity.HIGH,
        Role.PLANNER,
        8 * HOUR,
        Cause.INTERNAL,
        "Decide with the customer: ship short, or make up the shortfall.",
        "A work order completed with fewer good pieces than ordered, beyond the tolerance.",
    ),
    Kind(
        "production.message_waiting",
        Stage.PRODUCTION,
        Severity.MEDIUM,
        Role.PLANNER,
        8 * HOUR,
        Cause.SUPPLIER,
        "Check the reference with the MES or supplier; correct and resend it.",
        "A partner message names a work order Gendan does not know, and has waited too long.",
    ),
    Kind(
        "logistics.carrier_delay",
        Stage.LOGISTICS,
        Severity.MEDIUM,
        Role.LOGISTICS,
        8 * HOUR,
        Cause.CARRIER,
        "Get a new ETA from the carrier and tell the customer.",
        "The carrier reports a delay.",
    ),
    Kind(
        "logistics.carrier_damage",
        Stage.LOGISTICS,
        Severity.HIGH,
        Role.LOGISTICS,
        4 * HOUR,
        Cause.CARRIER,
        "Collect photos and the carrier's report; open a claim; plan a reshipment.",
        "The carrier reports the goods damaged.",
    ),
    Kind(
        "logistics.carrier_loss",
        Stage.LOGISTICS,
        Severity.CRITICAL,
        Role.LOGISTICS,
        2 * HOUR,
        Cause.CARRIER,
        "Open a claim with the carrier and plan a reshipment now.",
        "The carrier reports the goods lost.",
    ),
    Kind(
        "logistics.delivery_failed",
        Stage.LOGISTICS,
        Severity.MEDIUM,
        Role.LOGISTICS,
        8 * HOUR,
        Cause.CUSTOMER,
        "Agree a new delivery slot with the consignee.",
        "The carrier could not deliver (consignee absent, address wrong, refused).",
    ),
    Kind(
        "logistics.carrier_exception",
        Stage.LOGISTICS,
        Severity.MEDIUM,
        Role.LOGISTICS,
        8 * HOUR,
        Cause.CARRIER,
        "Ask the carrier what happened.",
        "The carrier reports an exception it did not classify.",
    ),
    Kind(
        "logistics.no_scan",
        Stage.LOGISTICS,
        Severity.MEDIUM,
        Role.LOGISTICS,
        8 * HOUR,
        Cause.CARRIER,
        "Ask the carrier where the shipment is.",
        "A moving shipment has had no carrier scan for longer than the limit.",
    ),
    Kind(
        "logistics.late_delivery",
        Stage.LOGISTICS,
        Severity.MEDIUM,
        Role.MERCHANDISER,
        24 * HOUR,
        Cause.CARRIER,
        "Record the cause with the customer; review the carrier or the plan.",
        "The goods were delivered after the promised date.",
    ),
    Kind(
        "logistics.message_waiting",
        Stage.LOGISTICS,
        Severity.MEDIUM,
        Role.LOGISTICS,
        8 * HOUR,
        Cause.CARRIER,
        "Check the tracking number or order with the carrier or warehouse; correct and resend it.",
        "A partner message names a shipment or order Gendan does not know, and has waited too long.",
    ),
    Kind(
        "billing.unmatched_payment",
        Stage.BILLING,
        Severity.HIGH,
        Role.FINANCE,
        8 * HOUR,
        Cause.CUSTOMER,
        "Find the invoice the payer meant and apply the payment to it.",
        "A payment names no invoice Gendan has issued (unapplied cash).",
    ),
    Kind(
        "billing.currency_mismatch",
        Stage.BILLING,
        Severity.HIGH,
        Role.FINANCE,
        8 * HOUR,
        Cause.CUSTOMER,
        "Agree the exchange with the customer, or refund and ask for payment in the invoice's currency.",
        "A payment is in another currency than its invoice.",
    ),
    Kind(
        "billing.overpayment",
        Stage.BILLING,
        Severity.LOW,
        Role.FINANCE,
        48 * HOUR,
        Cause.CUSTOMER,
        "Agree with the customer: refund, or keep as credit for the next invoice.",
        "A payment was more than the invoice's open amount.",
    ),
    Kind(
        "billing.payment_overdue",
        Stage.BILLING,
        Severity.MEDIUM,
        Role.FINANCE,
        24 * HOUR,
        Cause.CUSTOMER,
        "Send a reminder and call the customer's accounts payable.",
        "An invoice is past its due date and not paid in full.",
    ),
    Kind(
        "billing.message_waiting",
        Stage.BILLING,
        Severity.MEDIUM,
        Role.FINANCE,
        8 * HOUR,
        Cause.UNKNOWN,
        "Check the message's reference; correct and resend it.",
        "A message names something billing does not know, and has waited too long.",
    ),
    Kind(
        "billing.refund_owed",
        Stage.BILLING,
        Severity.HIGH,
        Role.FINANCE,
        24 * HOUR,
        Cause.CUSTOMER,
        "Agree with the customer: refund the money or keep it as credit for the next order.",
        "A change or cancellation credited an invoice the customer had already paid.",
    ),
)


def kind(name: str) -> Kind:
    """The registered kind (KeyError names an unregistered one: a bug, not data)."""
    return KINDS[name]
