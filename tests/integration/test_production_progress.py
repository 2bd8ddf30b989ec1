"""Production's plan, progress, gates, quality and early warning on a real database and the injected clock:
milestones back-scheduled from the product master, MES reports by event time, the customer's approvals,
inspections and their decisions, purchase orders through their supplier, delay risk from observed rates."""

from datetime import date, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from sqlmodel import col, select

from services.production import changes, domain, handlers, masters, purchasing, quality
from services.production.models import MilestoneRow, WorkOrder
from services.production.settings import ProductionSettings
from shared import tables
from shared.clock import FixedClock
from shared.contracts import (
    Envelope,
    Event,
    ExceptionRaised,
    LineDates,
    MesEvent,
    MilestonesChanged,
    OrderAccepted,
    OrderReviewRequested,
    OrderTerms,
    ProductionFeasibilityAssessed,
    ProductionOrderCreated,
    ProgressReported,
    PurchaseOrderCreated,
    SupplierEvent,
    exception_id,
)
from shared.db import ExceptionRecord
from shared.unit_of_work import UnitOfWorkFactory
from tests.e2e.flows import order_body
from tests.integration.journal import handle, outbox, types, watch

pytestmark = pytest.mark.integration
SERVICE = "production"
RULES = handlers.rules(ProductionSettings())
SEED = Path(__file__).resolve().parents[2] / "deploy" / "seed"
PLAN = "production.milestones_changed"

PRODUCTS = [
    masters.ProductRoutingIn(
        sku="GX-1", name="GX-1 gearbox", operations=["cutting", "welding", "painting"], daily_capacity=100
    ),
    masters.ProductRoutingIn(
        sku="GX-S", name="GX-S sampled", sample_required=True, sample_days=5, pre_production_required=True
    ),
    masters.ProductRoutingIn(sku="MT-7", name="MT-7 mount", make_or_buy="buy", supplier="Dongguan Castings"),
]


def accepted(
    clock: FixedClock, *lines: dict[str, Any], inspection: str = "none", confirmed: list[LineDates] | None = None
) -> Event[OrderAccepted]:
    body = order_body(1, today=clock.now().date())  # due in 40 days
    body["lines"] = [{"line_no": n, "unit_price": "2", **ln} for n, ln in enumerate(lines, 1)]
    body["requirements"] = {"inspection": inspection}
    terms = OrderTerms.model_validate(body)
    payload = OrderAccepted(**terms.model_dump(), total_amount=terms.compute_total(), confirmed=confirmed or [])
    return Event.new(payload, source="order", order_id="SO1", clock=clock)


def mes(clock: FixedClock, wo: str, kind: str, op: str = "", good: int = 0, scrap: int = 0, **at: Any) -> MesEvent:
    when = clock.now() + timedelta(**at)
    return MesEvent(
        message_id=uuid4().hex,
        occurred_at=when,
        type=kind,
        work_order_id=wo,
        operation=op,
        good_quantity=good,
        scrap_quantity=scrap,
    )


def supplier(clock: FixedClock, po: str, kind: str, **fields: Any) -> SupplierEvent:
    return SupplierEvent(message_id=uuid4().hex, occurred_at=clock.now(), type=kind, purchase_order_id=po, **fields)


async def opened(units: UnitOfWorkFactory, clock: FixedClock, *lines: dict[str, Any], **kw: Any) -> list[WorkOrder]:
    async with units() as uow:
        await masters.upsert(uow, PRODUCTS)
    await handle(units, handlers.on_order_accepted, accepted(clock, *lines, **kw))
    async with units() as uow:
        return list((await uow.session.exec(select(WorkOrder).order_by(col(WorkOrder.line_no)))).all())


async def milestones(units: UnitOfWorkFactory, wo: WorkOrder) -> dict[str, MilestoneRow]:
    async with units() as uow:
        rows = (await uow.session.exec(select(MilestoneRow).where(MilestoneRow.work_order_id == wo.id))).all()
    return {r.name: r for r in rows}


async def reload(units: UnitOfWorkFactory, wo: WorkOrder) -> WorkOrder:
    async with units() as uow:
        found = await uow.session.get(WorkOrder, wo.id)
    assert found is not None
    return found


async def is_open(units: UnitOfWorkFactory, kind: str, subject_type: str, subject: str) -> bool:
    async with units() as uow:
        found = await uow.get(ExceptionRecord, exception_id(SERVICE, kind, subject_type, subject))
    return found is not None and found.open


def raised(events: list[Envelope], kind: str) -> ExceptionRaised:
    [event] = [e for e in events if e.type == "production.exception_raised" and e.data["kind"] == kind]
    return event.payload(ExceptionRaised)


# --- orders and plan --------------------------------------------------------------------


async def test_each_line_gets_a_work_or_purchase_order_with_its_plan(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    confirmed = [LineDates(line_no=1, requested_date=date(2027, 2, 13), confirmed_date=date(2027, 2, 10))]
    made, gated, bought = await opened(
        units,
        clock,
        {"product": "GX-1 gearbox", "quantity": 250},
        {"product": "anything", "sku": "GX-S", "quantity": 10},
        {"product": "MT-7 mount", "quantity": 40},  # the master says it is bought
        confirmed=confirmed,
    )
    assert [(w.kind, w.id[:2], w.released) for w in (made, gated, bought)] == [
        ("make", "WO", True),
        ("make", "WO", False),
        ("buy", "PO", True),
    ]
    events = await outbox(units)
    created = [e.payload(ProductionOrderCreated) for e in events if e.type == "production.order_created"]
    assert [(c.operations, c.released) for c in created] == [
        (["cutting", "welding", "painting"], True),
        ([], False),
        ([], True),
    ]
    [purchase] = [e.payload(PurchaseOrderCreated) for e in events if e.type == "production.purchase_order_created"]
    assert (purchase.purchase_order_id, purchase.supplier, purchase.quantity) == (bought.id, "Dongguan Castings", 40)
    plans = {e.payload(MilestonesChanged).work_order_id: e.payload(MilestonesChanged) for e in events if e.type == PLAN}
    # line 1: from its confirmed date less the shipping buffer; 250 pieces at 100 a day, one day of QC
    assert [(m.name, m.planned) for m in plans[made.id].milestones] == [
        ("materials_ready", date(2027, 1, 31)),
        ("production_started", date(2027, 2, 1)),
        ("final_qc_passed", date(2027, 2, 5)),
        ("completed", date(2027, 2, 5)),
    ]
    assert [m.name for m in plans[gated.id].milestones][:3] == [
        "materials_ready",
        "sample_approved",
        "pre_production_approved",
    ]
    assert purchase.needed_by == plans[bought.id].milestones[0].planned


async def test_a_line_due_before_its_lead_time_is_planned_from_today_and_compressed(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    soon = (clock.now().date() + timedelta(days=7)).isoformat()
    [wo] = await opened(units, clock, {"product": "GX-1 gearbox", "quantity": 900, "requested_date": soon})
    plan = await milestones(units, wo)
    assert wo.compressed and min(m.planned for m in plan.values()) == clock.now().date()


async def test_the_product_master_seed_file_loads() -> None:
    entries = tables.parse((SEED / "production" / "products.csv").read_bytes(), tables.CSV, masters.ProductRoutingIn)
    by_sku = {e.sku: e for e in entries}
    assert by_sku["MT-7"].make_or_buy == "buy" and by_sku["GX-200"].operations[0] == "casting"
    assert not any(e.sample_required for e in entries if e.sku in ("GX-100", "GX-200"))  # the demo's flow
    with pytest.raises(ValueError, match="row 2"):
        tables.parse(b"sku,name,daily_capacity\nX,x,0\n", tables.CSV, masters.ProductRoutingIn)


# --- MES progress -----------------------------------------------------------------------


async def test_operation_reports_apply_by_event_time_and_roll_up(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    [wo] = await opened(units, clock, {"product": "GX-1 gearbox", "quantity": 250})
    first = await handle(units, handlers.on_mes_event, mes(clock, wo.id, "operation_reported", "cutting", 50))
    assert types(first)[:2] == ["production.started", "production.progress_reported"]  # a report means started
    newer = mes(clock, wo.id, "operation_reported", "painting", 40, 2, hours=2)
    older = mes(clock, wo.id, "operation_reported", "painting", 10, 0, hours=1)
    [progress] = [e for e in await handle(units, handlers.on_mes_event, newer) if e.type != PLAN]
    assert await handle(units, handlers.on_mes_event, older) == []  # older than what was applied: no change
    assert await handle(units, handlers.on_mes_event, newer.model_copy(update={"message_id": "again"})) == []
    reported = progress.payload(ProgressReported)
    assert (reported.good_quantity, reported.line_good_quantity, reported.line_scrap_quantity) == (40, 40, 2)
    after = await reload(units, wo)
    assert (after.status, after.good_quantity, after.scrap_quantity) == ("started", 40, 2)
    await handle(units, handlers.on_mes_event, mes(clock, wo.id, "started", minutes=-30))  # late, and earlier
    assert (await reload(units, wo)).started_at == clock.now() - timedelta(minutes=30)


async def test_completed_before_started_still_ends_completed(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    [wo] = await opened(units, clock, {"product": "GX-1 gearbox", "quantity": 10})
    done = await handle(units, handlers.on_mes_event, mes(clock, wo.id, "completed", good=10, hours=5))
    assert types(done) == ["production.completed", "production.order_ready", PLAN]
    late = await handle(units, handlers.on_mes_event, mes(clock, wo.id, "started"))
    assert types(late)[0] == "production.started"
    assert await handle(units, handlers.on_mes_event, mes(clock, wo.id, "operation_reported", "cutting", 3)) != []
    after = await reload(units, wo)
    assert (after.status, after.good_quantity) == ("completed", 10)  # a late report does not undo completion
    plan = await milestones(units, wo)
    assert plan["completed"].actual == (clock.now() + timedelta(hours=5)).date()


async def test_machine_down_until_up_by_the_mes_time(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    [wo] = await opened(units, clock, {"product": "GX-1 gearbox", "quantity": 10})
    down = await handle(units, handlers.on_mes_event, mes(clock, wo.id, "machine_down", "press 3", hours=2))
    assert raised(down, "production.machine_down").facts["stage"] == "press 3"
    assert await handle(units, handlers.on_mes_event, mes(clock, wo.id, "machine_up", "press 3", hours=1)) == []
    assert await is_open(units, "production.machine_down", "work_order", wo.id)  # the up was before the down
    up = await handle(units, handlers.on_mes_event, mes(clock, wo.id, "machine_up", "press 3", hours=3))
    assert types(up) == ["production.exception_resolved"]


async def test_scrap_above_the_threshold_is_raised_and_clears(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    [wo] = await opened(units, clock, {"product": "GX-1 gearbox", "quantity": 250})
    bad = await handle(units, handlers.on_mes_event, mes(clock, wo.id, "operation_reported", "welding", 90, 10))
    assert raised(bad, "production.scrap_high").facts == {"stage": "welding", "good": 90, "scrap": 10, "share": "0.100"}
    better = mes(clock, wo.id, "operation_reported", "welding", 300, 10, hours=1)
    assert "production.exception_resolved" in types(await handle(units, handlers.on_mes_event, better))


# --- early warning ----------------------------------------------------------------------


async def test_a_slow_line_raises_delay_risk_before_the_planned_date(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    [wo] = await opened(units, clock, {"product": "GX-1 gearbox", "quantity": 1_000})  # planned in 35 days
    await handle(units, handlers.on_mes_event, mes(clock, wo.id, "started"))
    clock.advance(timedelta(days=2))
    slow = await handle(units, handlers.on_mes_event, mes(clock, wo.id, "operation_reported", "welding", 40))
    risk = raised(slow, "production.delay_risk")  # 20 a day: 48 more days, long before the planned date passes
    assert (risk.facts["stage"], risk.facts["per_day"], risk.cause) == ("welding", "20", "internal")
    assert risk.facts["projected"] == str(clock.now().date() + timedelta(days=48))
    plan = slow[-1].payload(MilestonesChanged).milestones
    assert plan[-1].projected == clock.now().date() + timedelta(days=48)  # the tracking table sees it
    fast = mes(clock, wo.id, "operation_reported", "welding", 600, hours=1)
    back = await handle(units, handlers.on_mes_event, fast)
    assert "production.exception_resolved" in types(back)
    assert not await is_open(units, "production.delay_risk", "work_order", wo.id)
    clock.advance(timedelta(days=20))  # nothing reported for 20 days: the observed rate falls
    assert raised(await watch(units, RULES), "production.delay_risk").facts["stage"] == "welding"


async def test_material_not_ready_by_its_date_is_a_shortage(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    [wo] = await opened(units, clock, {"product": "GX-1 gearbox", "quantity": 100})
    plan = await milestones(units, wo)
    clock.advance(timedelta(days=(plan["materials_ready"].planned - clock.now().date()).days + 1))
    shortage = raised(await watch(units, RULES), "production.material_shortage")
    assert (shortage.cause, shortage.facts["stage"]) == ("supplier", "material")
    started = await handle(units, handlers.on_mes_event, mes(clock, wo.id, "started"))
    assert "production.exception_resolved" in types(started)


# --- gates ------------------------------------------------------------------------------


async def test_a_rejected_sample_loops_back_and_blocks_release(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    [wo] = await opened(units, clock, {"product": "GX-S sampled", "quantity": 10})
    no = quality.GateDecisionIn(approved=False, comments="colour too dark", evidence=["photo-1"], by="acme")
    yes = quality.GateDecisionIn(approved=True, by="acme")
    async with units() as uow:
        with pytest.raises(domain.Refused, match="not approved yet"):
            await quality.decide_gate(uow, wo.id, "pre_production", yes)
    rejected = await _gate(units, wo, "sample", no)
    assert types(rejected) == ["production.gate_decided", "production.exception_raised", PLAN]
    assert raised(rejected, "production.sample_rejected").cause == "customer"
    plan = rejected[-1].payload(MilestonesChanged).milestones
    assert plan[1].projected == clock.now().date() + timedelta(days=5)  # a new sample: five days again
    early = await handle(units, handlers.on_mes_event, mes(clock, wo.id, "started"))
    assert raised(early, "production.started_unreleased").facts["stage"] == "sample approval"
    approved = await _gate(units, wo, "sample", yes)
    assert "production.exception_resolved" in types(approved)
    assert not (await reload(units, wo)).released
    released = await _gate(units, wo, "pre_production", yes)
    assert "production.work_order_released" in types(released)
    assert (await reload(units, wo)).released
    async with units() as uow:
        with pytest.raises(domain.Refused, match="approved already"):
            await quality.decide_gate(uow, wo.id, "sample", yes)


async def test_a_product_without_gates_needs_no_approval(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    [wo] = await opened(units, clock, {"product": "GX-1 gearbox", "quantity": 10})
    async with units() as uow:
        with pytest.raises(domain.Refused, match="needs no sample approval"):
            await quality.decide_gate(uow, wo.id, "sample", quality.GateDecisionIn(approved=True, by="acme"))


async def _gate(units: UnitOfWorkFactory, wo: WorkOrder, gate: str, decision: quality.GateDecisionIn) -> list[Envelope]:
    before = len(await outbox(units))
    async with units() as uow:
        await quality.decide_gate(uow, wo.id, gate, decision)  # type: ignore[arg-type]
    return (await outbox(units))[before:]


# --- quality ----------------------------------------------------------------------------


async def test_a_failed_final_inspection_waits_for_a_decision(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    [wo] = await opened(units, clock, {"product": "GX-1 gearbox", "quantity": 10}, inspection="customer")
    produced = await handle(units, handlers.on_mes_event, mes(clock, wo.id, "completed", good=10))
    assert "production.completed" not in types(produced)  # the customer inspects first
    assert (await reload(units, wo)).status == "awaiting_qc"
    failed = await _inspect(units, wo, quality.InspectionIn(stage="final", passed=False, defect_quantity=3, by="acme"))
    qc_failed = raised(failed, "production.quality_failed")
    assert (qc_failed.subject_type, qc_failed.facts["defects"]) == ("inspection", 3)
    rework = await _decide(units, qc_failed.subject_id, quality.QualityDecisionIn(decision="rework", by="qc"))
    assert types(rework) == ["production.quality_decided", "production.exception_resolved", PLAN]
    assert rework[-1].payload(MilestonesChanged).milestones[-2].projected == clock.now().date() + timedelta(days=2)
    passed = await _inspect(units, wo, quality.InspectionIn(stage="final", passed=True, by="acme"))
    assert types(passed)[:3] == ["production.inspection_recorded", "production.completed", "production.order_ready"]
    async with units() as uow:
        with pytest.raises(domain.Refused, match="needs no decision"):
            await quality.decide_quality(uow, qc_failed.subject_id, quality.QualityDecisionIn(decision="scrap", by="x"))


async def _inspect(units: UnitOfWorkFactory, wo: WorkOrder, result: quality.InspectionIn) -> list[Envelope]:
    before = len(await outbox(units))
    async with units() as uow:
        await quality.inspect(uow, wo.id, result)
    return (await outbox(units))[before:]


async def _decide(units: UnitOfWorkFactory, inspection_id: str, decision: quality.QualityDecisionIn) -> list[Envelope]:
    before = len(await outbox(units))
    async with units() as uow:
        await quality.decide_quality(uow, inspection_id, decision)
    return (await outbox(units))[before:]


# --- purchase orders --------------------------------------------------------------------


async def test_a_purchase_completes_when_received_and_inspected(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    [po] = await opened(units, clock, {"product": "MT-7 mount", "quantity": 40})
    plan = await milestones(units, po)
    late = plan["materials_ready"].planned + timedelta(days=3)
    confirmed = await handle(
        units, purchasing.on_supplier_event, supplier(clock, po.id, "confirmed", confirmed_date=late)
    )
    shortage = raised(confirmed, "production.material_shortage")
    assert (shortage.subject_type, shortage.cause) == ("purchase_order", "supplier")
    assert types(confirmed)[0] == "production.started"
    inspected_first = supplier(clock, po.id, "inspected", passed=True, quantity=38)
    assert "production.completed" not in types(await handle(units, purchasing.on_supplier_event, inspected_first))
    received = await handle(units, purchasing.on_supplier_event, supplier(clock, po.id, "received", quantity=40))
    assert types(received)[:2] == ["production.exception_resolved", "production.completed"]
    assert "production.order_ready" in types(received)
    assert raised(received, "production.short_quantity").facts == {"ordered": 40, "good": 38, "scrap": 0}
    assert (await reload(units, po)).good_quantity == 38  # what passed inspection


async def test_a_purchase_failing_incoming_inspection_completes_on_concession(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    [po] = await opened(units, clock, {"product": "MT-7 mount", "quantity": 40})
    await handle(units, purchasing.on_supplier_event, supplier(clock, po.id, "received", quantity=40))
    failed = await handle(units, purchasing.on_supplier_event, supplier(clock, po.id, "inspected", passed=False))
    qc_failed = raised(failed, "production.quality_failed")
    assert qc_failed.cause == "supplier"
    conceded = await _decide(units, qc_failed.subject_id, quality.QualityDecisionIn(decision="concession", by="acme"))
    assert "production.order_ready" in types(conceded)


async def test_mes_reports_on_a_purchase_and_supplier_messages_on_a_work_order(
    units: UnitOfWorkFactory, clock: FixedClock
) -> None:
    made, bought = await opened(
        units, clock, {"product": "GX-1 gearbox", "quantity": 5}, {"product": "MT-7 mount", "quantity": 5}
    )
    assert await handle(units, handlers.on_mes_event, mes(clock, bought.id, "completed", good=5)) == []
    async with units() as uow:
        with pytest.raises(ValueError, match="made in-house"):
            await purchasing.on_supplier_event(supplier(clock, made.id, "received", quantity=5), uow)


async def test_review_plans_with_the_product_master(units: UnitOfWorkFactory, clock: FixedClock) -> None:
    async with units() as uow:
        await masters.upsert(uow, PRODUCTS)
    body = order_body(1, today=clock.now().date())
    body["lines"] = [
        {"line_no": 1, "product": "GX-S sampled", "quantity": 10, "unit_price": "2"},
        {"line_no": 2, "product": "unknown part", "quantity": 10, "unit_price": "2"},
    ]
    terms = OrderTerms.model_validate(body)
    review = Event.new(
        OrderReviewRequested(**terms.model_dump(), total_amount=terms.compute_total()),
        source="order",
        order_id="SO1",
        clock=clock,
    )
    [answer] = await handle(units, changes.on_order_review_requested, review)
    earliest = {line.line_no: line.earliest_completion for line in answer.payload(ProductionFeasibilityAssessed).lines}
    today = clock.now().date()
    # 3 days' material, a 5-day sample, 3 days of pre-production, 1 of QC, then a day's production
    assert earliest == {1: today + timedelta(days=13), 2: today + timedelta(days=4)}
