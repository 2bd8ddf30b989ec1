"""Complaints and after-sales: a customer's complaint recorded, chased and put right by the service that owns
the remedy; the customer's feedback after delivery.

A complaint (quality, quantity, damage, delay, documents) is raised on the board as
`order.complaint_open` with its own severity and owner. The remedy agreed with the customer is either a
written explanation (the complaint is resolved at once) or an action of another service: a replacement
shipment (logistics), a repair or rework (production), a credit note or compensation (billing). The
order service asks for it with `order.remedy_requested`; the service answers `<service>.remedy_done`
when it is done, and that resolves the complaint.
"""

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from services.order import board
from services.order.models import Complaint, Feedback, Order
from services.order.review import announce
from shared.contracts import REMEDY_SERVICE, Event, OrderRemedyRequested, Remedy, RemedyDone
from shared.errors import Invalid
from shared.fields import Count, LongText, Name, OptionalText, PositiveMoney, Ref, Text
from shared.ids import new_id
from shared.kinds import Severity
from shared.unit_of_work import UnitOfWork

OPEN, REMEDY_REQUESTED, RESOLVED = "open", "remedy_requested", "resolved"
Category = Literal["quality", "quantity", "damage", "delay", "documents"]
DEFAULT_RESPONSE = timedelta(hours=48)


class ComplaintIn(BaseModel):
    """A customer's complaint as the merchandiser records it."""

    category: Category
    description: LongText = Field(min_length=1)
    line_no: Annotated[int, Field(ge=1, le=10_000)] | None = None
    shipment_id: Ref | None = None
    invoice_number: Ref | None = None
    quantity: Count | None = Field(default=None, description="Pieces affected.")
    evidence: Annotated[list[Text], Field(max_length=20)] = Field(
        default_factory=list, description="References to photos, reports, letters (URLs or document names)."
    )
    severity: Severity = Severity.HIGH
    owner: Name = Field(description="Who chases it.")
    due_at: datetime | None = Field(default=None, description="When it must be answered; default in 48 hours.")


class RemedyIn(BaseModel):
    """The remedy agreed with the customer."""

    remedy: Remedy
    note: OptionalText = ""
    amount: PositiveMoney | None = Field(default=None, description="Credit note or compensation.")
    quantity: Count | None = Field(default=None, description="Pieces to replace or rework.")

    @model_validator(mode="after")
    def _needs(self) -> "RemedyIn":
        if self.remedy in (Remedy.CREDIT_NOTE, Remedy.COMPENSATION) and self.amount is None:
            raise ValueError(f"a {self.remedy.value} needs an amount")
        if self.remedy in (Remedy.REPLACEMENT, Remedy.REWORK) and not self.quantity:
            raise ValueError(f"a {self.remedy.value} needs a quantity")
        if self.remedy == Remedy.EXPLANATION and not self.note:
            raise ValueError("an explanation needs its text in `note`")
        return self


class FeedbackIn(BaseModel):
    product: Name
    rating: Annotated[int, Field(ge=1, le=5)]
    comment: OptionalText = ""


def _subject(complaint: Complaint) -> dict[str, str]:
    return {"subject_type": "complaint", "subject_id": complaint.id}


async def record(uow: UnitOfWork, order: Order, given: ComplaintIn, *, by: str) -> Complaint:
    now = uow.clock.now()
    complaint = Complaint(
        id=new_id("CP"),
        order_id=order.id,
        customer=order.customer,
        created_at=now,
        created_by=by,
        due_at=given.due_at or now + DEFAULT_RESPONSE,
        **given.model_dump(exclude={"due_at"}),
    )
    uow.session.add(complaint)
    await board.raise_own(
        uow,
        order_id=order.id,
        kind_name="order.complaint_open",
        severity=given.severity,
        title=f"{order.customer} complains about order {order.external_ref}: {given.category}"
        f" — {given.description[:200]}",
        facts={"category": given.category, "owner": given.owner, "due": complaint.due_at.isoformat()},
        **_subject(complaint),
    )
    return complaint


async def remedy(uow: UnitOfWork, order: Order, complaint: Complaint, given: RemedyIn, *, by: str) -> Complaint:
    """Start the agreed remedy: an explanation resolves the complaint, any other is asked of its service."""
    if complaint.status != OPEN:
        raise Invalid(f"complaint {complaint.id} is {complaint.status}: its remedy was already decided")
    complaint.remedy = given.remedy.value
    complaint.remedy_detail = {**given.model_dump(mode="json"), "decided_by": by}
    if given.remedy == Remedy.EXPLANATION:
        await _resolve(uow, complaint, by=by, reason=f"explained: {given.note[:300]}")
        return complaint
    complaint.status = REMEDY_REQUESTED
    request = OrderRemedyRequested(
        complaint_id=complaint.id,
        remedy=given.remedy,
        service=REMEDY_SERVICE[given.remedy],
        category=complaint.category,
        line_no=complaint.line_no,
        quantity=given.quantity,
        amount=given.amount,
        currency=order.currency if given.amount is not None else None,
        shipment_id=complaint.shipment_id,
        invoice_number=complaint.invoice_number,
        note=given.note,
    )
    await announce(uow, order, uow.emit(request, order_id=order.id))
    return complaint


async def on_remedy_done(event: Event[RemedyDone], uow: UnitOfWork, complaint: Complaint | None) -> None:
    """A service put the complaint right: it is resolved, with what the service made."""
    if complaint is None or complaint.status == RESOLVED:
        return
    complaint.remedy_detail = {**(complaint.remedy_detail or {}), "reference": event.data.reference}
    reason = f"{event.data.remedy.value} done by {event.source}: {event.data.reference}"
    await _resolve(uow, complaint, by=event.source, reason=reason)


async def _resolve(uow: UnitOfWork, complaint: Complaint, *, by: str, reason: str) -> None:
    complaint.status, complaint.resolved_at, complaint.resolved_by = RESOLVED, uow.clock.now(), by
    await board.resolve_own(
        uow, order_id=complaint.order_id, kind_name="order.complaint_open", reason=reason, by=by, **_subject(complaint)
    )


def feedback(uow: UnitOfWork, order: Order, given: FeedbackIn, *, by: str) -> Feedback:
    if order.delivered_at is None:
        raise Invalid(f"order {order.id} is not delivered yet: feedback comes after delivery")
    entry = Feedback(
        order_id=order.id,
        customer=order.customer,
        product=given.product,
        rating=given.rating,
        comment=given.comment,
        received_at=uow.clock.now(),
        recorded_by=by,
    )
    uow.session.add(entry)
    return entry


def average(ratings: list[int]) -> Decimal | None:
    return (Decimal(sum(ratings)) / len(ratings)).quantize(Decimal("0.01")) if ratings else None
