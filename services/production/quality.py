"""Gates and quality: the customer's sample and pre-production approvals that release a work order, inspections
(incoming, in-process, final) and what is decided about goods that failed one."""

from datetime import timedelta
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from services.production import domain, handlers, plans, schedule, settings
from services.production.models import Approval, Inspection, MilestoneRow, WorkOrder
from shared.contracts import (
    Gate,
    GateDecided,
    InspectionRecorded,
    InspectionStage,
    MilestoneName,
    QualityDecided,
    QualityDecision,
    WorkOrderReleased,
)
from shared.errors import NotFound
from shared.exceptions import raise_exception, resolve_exception
from shared.fields import Count, Name, OptionalText, Ref
from shared.ids import new_id
from shared.kinds import Cause
from shared.unit_of_work import UnitOfWork

M = MilestoneName
GATES: dict[str, MilestoneName] = {"sample": M.SAMPLE_APPROVED, "pre_production": M.PRE_PRODUCTION_APPROVED}


class GateDecisionIn(BaseModel):
    """The customer's answer on a sample, as the merchandiser records it."""

    model_config = ConfigDict(extra="forbid")

    approved: bool
    comments: OptionalText = ""
    evidence: Annotated[list[Ref], Field(max_length=20)] = Field(
        default_factory=list, description="References of photos, reports or mails behind the decision."
    )
    by: Name


class InspectionIn(BaseModel):
    """An inspection's result."""

    model_config = ConfigDict(extra="forbid")

    stage: InspectionStage
    passed: bool
    inspected_quantity: Count = 0
    defect_quantity: Count = 0
    note: OptionalText = ""
    by: Name


class QualityDecisionIn(BaseModel):
    """What is done with the goods of a failed inspection."""

    model_config = ConfigDict(extra="forbid")

    decision: QualityDecision
    by: Name


async def _work_order(uow: UnitOfWork, work_order_id: str) -> tuple[WorkOrder, list[WorkOrder], list[MilestoneRow]]:
    """The work order (with its order's others, locked as the MES handler locks them) and its plan."""
    found = await uow.get(WorkOrder, work_order_id)
    if found is None:
        raise NotFound(f"no work order {work_order_id}")
    siblings = await handlers.order_work_orders(uow, found.order_id)
    work_order = next(w for w in siblings if w.id == work_order_id)
    if work_order.status == domain.WorkOrderStatus.CANCELLED:
        raise domain.Refused(f"work order {work_order_id} is cancelled")
    return work_order, siblings, await plans.load(uow, work_order_id)


# --- gates ------------------------------------------------------------------------------


async def decide_gate(uow: UnitOfWork, work_order_id: str, gate: Gate, decision: GateDecisionIn) -> Approval:
    """Record the customer's approval or rejection of a sample; the last approval releases the work order to
    production, a rejection loops back (a new sample, the gate's days again) and raises an exception."""
    work_order, _, rows = await _work_order(uow, work_order_id)
    days = work_order.sample_days if gate == "sample" else work_order.pre_production_days
    step = schedule.find(rows, GATES[gate])
    if days is None or step is None:
        raise domain.Refused(f"work order {work_order_id} needs no {gate} approval")
    if step.actual is not None:
        raise domain.Refused(f"the {gate} of work order {work_order_id} is approved already")
    sample = schedule.find(rows, M.SAMPLE_APPROVED)
    if gate == "pre_production" and sample is not None and sample.actual is None:
        raise domain.Refused(f"the sample of work order {work_order_id} is not approved yet")
    now = uow.clock.now()
    approval = Approval(
        id=new_id("AP"),
        work_order_id=work_order.id,
        gate=gate,
        approved=decision.approved,
        comments=decision.comments,
        evidence=list(decision.evidence),
        by=decision.by,
        decided_at=now,
    )
    uow.session.add(approval)
    emit = uow.emitter(order_id=work_order.order_id, correlation_id=work_order.correlation_id)
    emit(GateDecided(work_order_id=work_order.id, gate=gate, **decision.model_dump()))
    subject = f"{work_order.id}:{gate}"
    if decision.approved:
        schedule.reach(rows, M.MATERIALS_READY, now.date())  # a sample was made: the material is there
        schedule.reach(rows, GATES[gate], now.date())
        await resolve_exception(
            uow,
            kind_name="production.sample_rejected",
            subject_type="work_order",
            subject_id=subject,
            reason=f"the customer approved the {gate}",
        )
        if all(s.actual is not None for s in rows if s.name in GATES.values()):
            work_order.released = True
            emit(WorkOrderReleased(work_order_id=work_order.id))
    else:
        schedule.project(rows, GATES[gate], now.date() + timedelta(days=days))
        await raise_exception(
            uow,
            kind_name="production.sample_rejected",
            order_id=work_order.order_id,
            subject_type="work_order",
            subject_id=subject,
            title=f"The customer rejected the {gate.replace('_', '-')} sample of {work_order.id}"
            f" ({work_order.product}): {decision.comments or 'no comment'}",
            facts={
                "stage": f"{gate} approval",
                "comments": decision.comments,
                "evidence": ", ".join(decision.evidence),
            },
        )
    plans.changed(uow, work_order, rows)
    return approval


# --- inspections ------------------------------------------------------------------------


def _closing(work_order: WorkOrder, stage: str) -> bool:
    """The inspection a work order's completion waits for: final when made, incoming when bought."""
    return stage == ("incoming" if work_order.kind == "buy" else "final")


async def inspect(uow: UnitOfWork, work_order_id: str, result: InspectionIn) -> Inspection:
    """Record an inspection. The final (or, bought, incoming) one passing completes what waits for it; any
    failure raises a quality exception that waits for a decision."""
    work_order, siblings, rows = await _work_order(uow, work_order_id)
    if result.stage == "final" and work_order.kind == "buy":
        raise domain.Refused(f"{work_order_id} is bought: it is inspected on arrival (incoming)")
    if _closing(work_order, result.stage) and work_order.final_passed:
        raise domain.Refused(f"the {result.stage} inspection of {work_order_id} passed already")
    now = uow.clock.now()
    inspection = Inspection(
        id=new_id("QC"),
        work_order_id=work_order.id,
        order_id=work_order.order_id,
        inspected_at=now,
        **result.model_dump(),
    )
    uow.session.add(inspection)
    emit = uow.emitter(order_id=work_order.order_id, correlation_id=work_order.correlation_id)
    recorded = InspectionRecorded(
        work_order_id=work_order.id,
        inspection_id=inspection.id,
        **result.model_dump(include={"stage", "passed", "inspected_quantity", "defect_quantity", "note"}),
    )
    emit(recorded)
    if result.passed:
        if _closing(work_order, result.stage):
            await _accept(uow, work_order, siblings, rows)
        return inspection
    await raise_exception(
        uow,
        kind_name="production.quality_failed",
        order_id=work_order.order_id,
        subject_type="inspection",
        subject_id=inspection.id,
        title=f"The {result.stage.replace('_', '-')} inspection of {work_order.id} ({work_order.product}) failed:"
        f" {result.defect_quantity} defective of {result.inspected_quantity}",
        facts={
            "stage": f"{result.stage} inspection",
            "work_order": work_order.id,
            "defects": result.defect_quantity,
            "inspected": result.inspected_quantity,
            "note": result.note,
        },
        cause=None if work_order.kind == "make" else Cause.SUPPLIER,
    )
    return inspection


async def decide_quality(uow: UnitOfWork, inspection_id: str, decision: QualityDecisionIn) -> Inspection:
    """Rework (a new inspection, later), scrap (the defective pieces are lost) or a concession (accepted as
    they are) for a failed inspection; the quality exception is resolved and the plan moves."""
    inspection = await uow.get(Inspection, inspection_id, lock=True)
    if inspection is None:
        raise NotFound(f"no inspection {inspection_id}")
    if inspection.passed or inspection.decision:
        raise domain.Refused(f"inspection {inspection_id} needs no decision ({inspection.decision or 'passed'})")
    work_order, siblings, rows = await _work_order(uow, inspection.work_order_id)
    now = uow.clock.now()
    inspection.decision, inspection.decided_by, inspection.decided_at = decision.decision, decision.by, now
    emit = uow.emitter(order_id=work_order.order_id, correlation_id=work_order.correlation_id)
    emit(QualityDecided(work_order_id=work_order.id, inspection_id=inspection.id, **decision.model_dump()))
    await resolve_exception(
        uow,
        kind_name="production.quality_failed",
        subject_type="inspection",
        subject_id=inspection.id,
        reason=f"decided: {decision.decision}",
        by=decision.by,
    )
    if decision.decision == "rework":
        rework = now.date() + timedelta(days=settings.policy().rework_days)
        if schedule.project(rows, M.FINAL_QC_PASSED, rework):
            plans.changed(uow, work_order, rows)
        return inspection
    if decision.decision == "scrap":
        lost = min(inspection.defect_quantity, work_order.good_quantity)
        work_order.good_quantity -= lost
        work_order.scrap_quantity += lost
    if _closing(work_order, inspection.stage):
        await _accept(uow, work_order, siblings, rows)
    return inspection


async def _accept(uow: UnitOfWork, work_order: WorkOrder, siblings: list[WorkOrder], rows: list[MilestoneRow]) -> None:
    """The inspection the work order waits for passed (or was conceded): complete it if it is made or received."""
    work_order.final_passed = True
    if schedule.reach(rows, M.FINAL_QC_PASSED, uow.clock.now().date()):
        plans.changed(uow, work_order, rows)
    if work_order.status == domain.WorkOrderStatus.AWAITING_QC:
        await handlers.complete(uow, work_order, rows, siblings, uow.clock.now())
