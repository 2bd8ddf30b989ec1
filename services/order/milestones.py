"""Customer milestone notices: a customer's system hears when its orders are confirmed, made, shipped, delivered,
invoiced, rejected or cancelled, signed and retried by the same dispatcher and log as the board's webhooks."""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated
from uuid import NAMESPACE_URL, uuid5

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import AfterValidator, BaseModel, Field, HttpUrl
from sqlmodel import col, select

from services.order import tracking, webhooks
from services.order.models import (
    CustomerWebhookCreated,
    CustomerWebhookPublic,
    Order,
    WebhookDelivery,
    WebhookDeliveryPublic,
    WebhookSubscription,
)
from services.order.webhooks import DeliveryId, DeliveryStatus, NoSuchWebhook, Refused, SubscriptionId
from shared.contracts import (
    Envelope,
    InvoiceIssued,
    OrderCancelled,
    OrderChangeAccepted,
    OrderRejected,
    ShipmentChanged,
    ShipmentDelivered,
    ShipmentPlanned,
)
from shared.fields import Name
from shared.http import Actor
from shared.service import RuntimeDep
from shared.unit_of_work import UnitOfWork


class Milestone(StrEnum):
    """What a customer can be told about its order."""

    CONFIRMED = "confirmed"
    PRODUCTION_STARTED = "production_started"
    PRODUCTION_COMPLETED = "production_completed"
    SHIPPED = "shipped"
    ETA_CHANGED = "eta_changed"
    DELIVERED = "delivered"
    INVOICE_DUE = "invoice_due"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


MILESTONE_OF_EVENT = {
    "order.accepted": Milestone.CONFIRMED,
    "production.started": Milestone.PRODUCTION_STARTED,
    "production.order_ready": Milestone.PRODUCTION_COMPLETED,  # every line made, not one work order
    "logistics.shipment_planned": Milestone.SHIPPED,
    "production.work_order_changed": Milestone.ETA_CHANGED,
    "logistics.shipment_changed": Milestone.ETA_CHANGED,
    "order.change_accepted": Milestone.ETA_CHANGED,
    "logistics.shipment_delivered": Milestone.DELIVERED,
    "billing.invoice_issued": Milestone.INVOICE_DUE,
    "order.rejected": Milestone.REJECTED,
    "order.cancelled": Milestone.CANCELLED,
}
# An order reaches these once: told once, however many work orders start or events repeat.
ONCE = {
    Milestone.CONFIRMED,
    Milestone.PRODUCTION_STARTED,
    Milestone.PRODUCTION_COMPLETED,
    Milestone.DELIVERED,
    Milestone.REJECTED,
    Milestone.CANCELLED,
}


class MilestoneData(BaseModel):
    """What the customer is told: its order, the milestone, and the dates and details that go with it."""

    order_id: str
    customer: str
    external_ref: str = Field(description="The customer's own order number.")
    milestone: Milestone
    occurred_at: datetime
    status: str
    promised_date: date
    projected_delivery: date
    tracking_number: str | None = None
    carrier: str | None = None
    delivered_at: datetime | None = None
    invoice_number: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    due_date: date | None = None
    reason: str | None = None


class MilestoneMessage(BaseModel):
    """The body a customer's receiver gets (Standard Webhooks payload structure)."""

    type: str = Field(description="`milestone.<milestone>`, e.g. milestone.shipped.")
    timestamp: datetime = Field(description="When it happened.")
    data: MilestoneData


def milestone_of(envelope: Envelope) -> Milestone | None:
    """The milestone an event is for the customer, or None: a cancelled shipment is not a new ETA, a shipment
    held for payment has not shipped, and one part delivered is not the order delivered."""
    found = MILESTONE_OF_EVENT.get(envelope.type)
    match envelope.type:
        case ShipmentChanged.event_type:
            return None if envelope.payload(ShipmentChanged).cancelled else found
        case ShipmentPlanned.event_type:
            return None if envelope.payload(ShipmentPlanned).held else found
        case ShipmentDelivered.event_type:
            return found if envelope.payload(ShipmentDelivered).order_delivered else None
    return found


def details(envelope: Envelope) -> dict[str, object]:
    """The event's facts a customer may see."""
    match envelope.type:
        case ShipmentPlanned.event_type:
            planned = envelope.payload(ShipmentPlanned)
            return {"tracking_number": planned.tracking_number, "carrier": planned.carrier}
        case ShipmentDelivered.event_type:
            return {"delivered_at": envelope.payload(ShipmentDelivered).delivered_at}
        case InvoiceIssued.event_type:
            invoice = envelope.payload(InvoiceIssued)
            return {
                "invoice_number": invoice.invoice_number,
                "amount": invoice.amount,
                "currency": invoice.currency,
                "due_date": invoice.due_date,
            }
        case OrderRejected.event_type:  # the departments' reasons are internal (credit, capacity): not sent
            return {"reason": "The order could not be accepted; your merchandiser will contact you."}
        case OrderCancelled.event_type:
            return {"reason": envelope.payload(OrderCancelled).reason}
        case OrderChangeAccepted.event_type:
            return {"amount": envelope.payload(OrderChangeAccepted).total_amount}
    return {}


def notice(order: Order, envelope: Envelope, milestone: Milestone) -> MilestoneMessage:
    """The message telling a customer its order reached a milestone."""
    data = MilestoneData(
        order_id=order.id,
        customer=order.customer,
        external_ref=order.external_ref,
        milestone=milestone,
        occurred_at=envelope.occurred_at,
        status=order.status,
        promised_date=tracking.promised(order),
        projected_delivery=tracking.projected_delivery(order),
        **details(envelope),
    )
    return MilestoneMessage(type=f"milestone.{milestone}", timestamp=envelope.occurred_at, data=data)


def message_id(order_id: str, milestone: Milestone, envelope: Envelope) -> str:
    """The `webhook-id`: once per order for a milestone reached once, else once per event."""
    what = f"{order_id}:{milestone}" if milestone in ONCE else f"{order_id}:{milestone}:{envelope.id}"
    return f"msg_{uuid5(NAMESPACE_URL, f'gendan:milestone:{what}').hex}"


async def stage_milestone(uow: UnitOfWork, order: Order, envelope: Envelope) -> None:
    """Stage a notice of the milestone this event is (if any) for each of the customer's subscriptions to it."""
    milestone = milestone_of(envelope)
    if milestone is None:
        return
    query = select(WebhookSubscription).where(
        col(WebhookSubscription.active), WebhookSubscription.customer == order.customer
    )
    targets = [s for s in (await uow.session.exec(query)).all() if milestone in s.milestones]
    if targets:
        body = notice(order, envelope, milestone)
        mid = message_id(order.id, milestone, envelope)
        await webhooks.stage(uow, targets, body, message_id=mid, subject=("order", order.id))


# --- what people do with customers' subscriptions ----------------------------------------------


def _distinct(milestones: list[Milestone]) -> list[Milestone]:
    return list(dict.fromkeys(milestones))


class CustomerWebhookCreate(BaseModel):
    """A customer's system to tell about its orders' milestones."""

    name: Name = Field(description="What it is, e.g. 'ACME purchasing portal'.")
    customer: Name = Field(description="The customer whose orders it hears about (as on the order).")
    url: HttpUrl = Field(description="Where to POST; http or https.")
    milestones: Annotated[
        list[Milestone], Field(min_length=1, max_length=len(Milestone)), AfterValidator(_distinct)
    ] = Field(default_factory=lambda: list(Milestone), description="The milestones to receive; default: all.")


async def subscribe(uow: UnitOfWork, request: CustomerWebhookCreate, *, by: str) -> WebhookSubscription:
    """Create a customer's milestone subscription with a fresh secret."""
    return await webhooks.add_subscription(
        uow,
        name=request.name,
        url=str(request.url),
        by=by,
        customer=request.customer,
        milestones=[str(m) for m in request.milestones],
    )


router = APIRouter(prefix="/customer-webhooks", tags=["customer webhooks"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CustomerWebhookCreated)
async def create_customer_webhook(
    request: CustomerWebhookCreate, actor: Actor, runtime: RuntimeDep
) -> CustomerWebhookCreated:
    """Tell a customer's system about the milestones of its orders; the secret is shown only now."""
    try:
        async with runtime.units() as uow:
            subscription = await subscribe(uow, request, by=actor)
    except Refused as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
    return CustomerWebhookCreated.model_validate(subscription, from_attributes=True)


@router.get("", response_model=list[CustomerWebhookPublic])
async def list_customer_webhooks(
    runtime: RuntimeDep,
    customer: Annotated[str | None, Query(max_length=200)] = None,
    active: Annotated[bool | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[WebhookSubscription]:
    """Customers' milestone subscriptions, newest first (without their secrets)."""
    query = webhooks.listed(customers=True, active=active, limit=limit)
    if customer is not None:
        query = query.where(WebhookSubscription.customer == customer)
    async with runtime.sessions() as session:
        return list((await session.exec(query)).all())


async def _customers(runtime: RuntimeDep, subscription_id: str) -> None:
    async with runtime.sessions() as session:
        found = await session.get(WebhookSubscription, subscription_id)
    if found is None or found.customer is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no customer webhook {subscription_id}")


@router.delete("/{subscription_id}", response_model=CustomerWebhookPublic)
async def deactivate_customer_webhook(
    subscription_id: SubscriptionId, actor: Actor, runtime: RuntimeDep
) -> WebhookSubscription:
    """Deactivate a customer's subscription: nothing more is sent to it; its log is kept."""
    await _customers(runtime, subscription_id)
    try:
        async with runtime.units() as uow:
            return await webhooks.unsubscribe(uow, subscription_id, by=actor)
    except NoSuchWebhook as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from error


@router.get("/{subscription_id}/deliveries", response_model=list[WebhookDeliveryPublic])
async def list_customer_deliveries(
    subscription_id: SubscriptionId,
    runtime: RuntimeDep,
    status_is: Annotated[DeliveryStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[WebhookDelivery]:
    """A customer subscription's delivery log, newest first."""
    await _customers(runtime, subscription_id)
    return await webhooks.list_deliveries(subscription_id, runtime, status_is, limit)


@router.post("/{subscription_id}/deliveries/{delivery_id}/retry", response_model=WebhookDeliveryPublic)
async def retry_customer_delivery(
    subscription_id: SubscriptionId, delivery_id: DeliveryId, actor: Actor, runtime: RuntimeDep
) -> WebhookDelivery:
    """Send a failed delivery again, with a full set of attempts."""
    await _customers(runtime, subscription_id)
    return await webhooks.retry_delivery(subscription_id, delivery_id, actor, runtime)
