"""An export order's formalities, followed: the customs declaration of each shipment (logistics), the commodity
inspection of the goods (production) and the FX settlement of the customer's payments (billing), each as its
owning service last reported it (`<service>.formality_changed`), with what is still to come."""

from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select

from services.order.models import ExportStep, Order
from shared.contracts import Event, FormalityChanged, FormalityStep, OrderTerms
from shared.unit_of_work import UnitOfWork

HOME_CURRENCY = "CNY"


async def follow(uow: UnitOfWork, order: Order, event: Event[FormalityChanged]) -> None:
    data = event.data
    facts = data.model_dump(mode="json", include={"currency", "amount", "rate", "home_currency", "home_amount"})
    row = {
        "order_id": order.id,
        "step": data.step.value,
        "subject_id": data.subject_id,
        "status": data.status,
        "reference": data.reference,
        "reason": data.reason,
        "blocks_shipment": data.blocks_shipment,
        "source": event.source,
        "facts": {k: v for k, v in facts.items() if v is not None},
        "updated_at": event.occurred_at,
    }
    stmt = insert(ExportStep).values(row)
    newer = stmt.excluded.updated_at >= ExportStep.__table__.c.updated_at  # type: ignore[attr-defined]
    changed = {k: stmt.excluded[k] for k in row if k not in ("order_id", "step", "subject_id")}
    await uow.session.exec(
        stmt.on_conflict_do_update(index_elements=["order_id", "step", "subject_id"], set_=changed, where=newer)
    )


async def steps(uow: UnitOfWork, order: Order, terms: OrderTerms) -> dict[str, Any]:
    """Every step the order has, and the ones still expected (an export's customs and inspection; FX where it is
    paid in a foreign currency)."""
    query = select(ExportStep).where(ExportStep.order_id == order.id).order_by(col(ExportStep.updated_at))
    found = await uow.all(query)
    export = terms.export
    expected = []
    if export:
        expected += [FormalityStep.CUSTOMS_DECLARATION, FormalityStep.COMMODITY_INSPECTION]
    if terms.currency != HOME_CURRENCY:
        expected.append(FormalityStep.FX_SETTLEMENT)
    seen = {s.step for s in found}
    return {
        "order_id": order.id,
        "export": export,
        "steps": [s.model_dump(mode="json") for s in found],
        "pending": [step.value for step in expected if step.value not in seen],
        "blocks_shipment": any(s.blocks_shipment for s in found),
    }
