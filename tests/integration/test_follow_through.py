"""Follow-through on a real database: the order's file and checklist, tasks across departments, complaints and
their remedies, the post-order review."""

import io
import zipfile
from collections.abc import AsyncIterator
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import httpx
import pypdf
import pytest
from fastapi import FastAPI
from openpyxl import load_workbook
from sqlmodel import col, select

from services.order import followup_api, handlers, tasks
from services.order.models import BoardEntry, Order, Task
from services.order.settings import OrderSettings
from shared import http
from shared.clock import FixedClock
from shared.contracts import (
    FORMALITY,
    REMEDIED,
    Event,
    EventData,
    FormalityStep,
    InstallmentTrigger,
    InvoiceIssued,
    Milestone,
    MilestoneName,
    MilestonesChanged,
    OrderSettled,
    OrderTerms,
    ProductionOrderCreated,
    Remedy,
    ShipmentDelivered,
    ShipmentPlanned,
)
from shared.unit_of_work import UnitOfWorkFactory
from tests.e2e.flows import order_body
from tests.integration.journal import outbox, watch
from tests.integration.orders import accepted

pytestmark = pytest.mark.integration
SERVICE = "order"
Api = httpx.AsyncClient
WHO = {"X-Actor": "li.wei"}


@pytest.fixture
async def api(units: UnitOfWorkFactory, clock: FixedClock) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    app.include_router(followup_api.router)
    http.install(app, max_body_bytes=1 << 20)
    settings = OrderSettings(files_url="memory://")
    app.state.runtime = SimpleNamespace(units=units, sessions=units.sessions, clock=clock, settings=settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://order") as client:
        yield client


async def take(units: UnitOfWorkFactory, clock: FixedClock, *, export: bool = False, inspection: bool = False) -> Order:
    async with units() as uow:
        await tasks.seed_templates(uow)
    body = order_body(1, today=clock.now().date())
    body["lines"][0] |= {"sku": "GX-100"}
    if export:
        body |= {"destination_country": "DE", "incoterm": "FOB"}
    if inspection:
        body["requirements"] = {"inspection": "customer"}
    return await accepted(units, OrderTerms.model_validate(body))


async def happen(units: UnitOfWorkFactory, clock: FixedClock, order: Order, data: EventData, source: str) -> None:
    async with units() as uow:
        await handlers.on_lifecycle_event(Event.new(data, source=source, order_id=order.id, clock=clock), uow)


async def open_kinds(units: UnitOfWorkFactory, order: Order) -> list[tuple[str, str]]:
    async with units() as uow:
        entries = await uow.all(select(BoardEntry).where(BoardEntry.order_id == order.id, col(BoardEntry.open)))
    return sorted((e.kind, e.subject_id) for e in entries)


def work_order(clock: FixedClock) -> ProductionOrderCreated:
    return ProductionOrderCreated(
        work_order_id="WO1",
        line_no=1,
        product="GX-100 coupling",
        quantity=11,
        kind="make",
        planned_completion=clock.now().date() + timedelta(days=20),
    )


def shipment(mode: str = "truck") -> ShipmentPlanned:
    return ShipmentPlanned(
        shipment_id="SH1", tracking_number="SF100", carrier="sf-express", mode=mode, packages=1, weight_kg=Decimal(5)
    )


# --- tasks ---------------------------------------------------------------------------------------------


async def test_acceptance_gives_the_order_its_tasks_and_the_plan_moves_them(
    units: UnitOfWorkFactory, clock: FixedClock, api: Api
) -> None:
    domestic = await take(units, clock)
    found = (await api.get(f"/orders/{domestic.id}/tasks")).json()
    assert sorted(t["template"] for t in found) == ["confirm_order", "materials", "send_documents", "shipping_space"]
    today = clock.now().date()
    by = {t["template"]: t for t in found}
    assert by["confirm_order"]["due_date"] == str(today + timedelta(days=2))
    promise = date.fromisoformat(by["shipping_space"]["due_date"]) + timedelta(days=2 + 6)  # estimate before a plan
    export = await take(units, clock, export=True, inspection=True)
    assert {t["template"] for t in (await api.get(f"/orders/{export.id}/tasks")).json()} >= {
        "commodity_inspection",
        "customs_documents",
        "fx_receipt",
        "book_inspection",
    }
    # production plans completion on day 15: the tasks anchored on it follow
    plan = MilestonesChanged(
        work_order_id="WO1",
        line_no=1,
        milestones=[
            Milestone(name=MilestoneName.MATERIALS_READY, planned=today + timedelta(days=3)),
            Milestone(name=MilestoneName.COMPLETED, planned=today + timedelta(days=15)),
        ],
    )
    await happen(units, clock, domestic, plan, "production")
    by = {t["template"]: t for t in (await api.get(f"/orders/{domestic.id}/tasks")).json()}
    assert by["shipping_space"]["due_date"] == str(today + timedelta(days=13))
    assert by["materials"]["due_date"] == str(today + timedelta(days=3))
    assert by["confirm_order"]["due_date"] == str(today + timedelta(days=2))  # anchored on acceptance: unmoved
    assert promise > today


async def test_an_overdue_task_is_chased_until_done(units: UnitOfWorkFactory, clock: FixedClock, api: Api) -> None:
    order = await take(units, clock)
    added = await api.post(
        f"/orders/{order.id}/tasks",
        json={"title": "Send samples to the customer", "department": "quality", "due_date": str(clock.now().date())},
        headers=WHO,
    )
    assert added.status_code == 201, added.text
    task = added.json()
    await watch(units, [tasks.overdue_tasks()])
    assert ("order.task_overdue", task["id"]) not in await open_kinds(units, order)  # due today: not late yet
    clock.advance(timedelta(days=3))  # now the confirmation task (due day 2) and this one are late
    await watch(units, [tasks.overdue_tasks()])
    late = [s for k, s in await open_kinds(units, order) if k == "order.task_overdue"]
    assert task["id"] in late and len(late) == 2
    overdue = (await api.get("/tasks", params={"status": "overdue", "department": "quality"})).json()
    assert [t["id"] for t in overdue] == [task["id"]]
    done = await api.post(f"/tasks/{task['id']}/done", json={"note": "sent by DHL"}, headers=WHO)
    assert done.json()["status"] == "done" and done.json()["done_by"] == "li.wei"
    assert task["id"] not in [s for k, s in await open_kinds(units, order) if k == "order.task_overdue"]
    assert (await api.post("/tasks/nope/done", json={}, headers=WHO)).status_code == 404


# --- the order's file ----------------------------------------------------------------------------------


async def test_the_file_follows_the_events_and_misses_are_raised_once_the_order_is_past_their_stage(
    units: UnitOfWorkFactory, clock: FixedClock, api: Api
) -> None:
    order = await take(units, clock, export=True)
    the_file = (await api.get(f"/orders/{order.id}/file")).json()
    assert the_file["order_type"] == ["export", "make"] and the_file["complete"] is False
    assert [d["kind"] for d in the_file["documents"]] == ["order_confirmation"]
    pdf = await api.get(the_file["documents"][0]["download"])
    text = pypdf.PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert pdf.headers["content-type"] == "application/pdf" and order.id in text and "GX-100 coupling" in text

    await happen(units, clock, order, work_order(clock), "production")
    await happen(units, clock, order, shipment(mode="sea"), "logistics")
    # past acceptance without the customer's signed confirmation; shipping without the export papers
    missing = {s.split(":")[1] for k, s in await open_kinds(units, order) if k == "order.document_missing"}
    assert missing == {"customer_confirmation"}
    await happen(
        units,
        clock,
        order,
        ShipmentDelivered(shipment_id="SH1", delivered_at=clock.now(), received_quantity=11),
        "logistics",
    )
    missing = {s.split(":")[1] for k, s in await open_kinds(units, order) if k == "order.document_missing"}
    assert missing == {"customer_confirmation", "packing_list", "commercial_invoice", "customs_declaration"}

    scan = b"%PDF-1.4 signed confirmation scan"
    upload = await api.post(
        f"/orders/{order.id}/documents",
        data={"kind": "customer_confirmation", "name": "PO-signed.pdf"},
        files={"file": ("PO-signed.pdf", scan, "application/pdf")},
        headers=WHO,
    )
    assert upload.status_code == 201, upload.text
    assert (await api.get(upload.json()["download"])).content == scan
    missing = {s.split(":")[1] for k, s in await open_kinds(units, order) if k == "order.document_missing"}
    assert "customer_confirmation" not in missing
    kinds = {d["kind"] for d in (await api.get(f"/orders/{order.id}/file")).json()["documents"]}
    assert kinds == {
        "order_confirmation",
        "production_order",
        "bill_of_lading",
        "proof_of_delivery",
        "customer_confirmation",
    }

    archive = zipfile.ZipFile(io.BytesIO((await api.get(f"/orders/{order.id}/file.zip")).content))
    names = archive.namelist()
    assert "manifest.json" in names and any(n.startswith("customer_confirmation/") for n in names)
    assert any(n.startswith("order_confirmation/") for n in names)

    refused = await api.post(
        f"/orders/{order.id}/documents",
        data={"kind": "invoice", "name": "x"},
        files={"file": ("x", b"x", "application/pdf")},
        headers=WHO,
    )
    assert refused.status_code == 422  # invoices come from billing, not from an upload


# --- complaints ----------------------------------------------------------------------------------------


async def test_a_complaint_is_chased_until_its_service_puts_it_right(
    units: UnitOfWorkFactory, clock: FixedClock, api: Api
) -> None:
    order = await take(units, clock)
    body = {
        "category": "quality",
        "description": "12 housings cracked",
        "line_no": 1,
        "quantity": 12,
        "owner": "li.wei",
    }
    complaint = (await api.post(f"/orders/{order.id}/complaints", json=body, headers=WHO)).json()
    assert ("order.complaint_open", complaint["id"]) in await open_kinds(units, order)
    no_amount = await api.post(f"/complaints/{complaint['id']}/remedy", json={"remedy": "credit_note"}, headers=WHO)
    assert no_amount.status_code == 422 and "amount" in no_amount.text

    asked = await api.post(
        f"/complaints/{complaint['id']}/remedy", json={"remedy": "credit_note", "amount": "148.20"}, headers=WHO
    )
    assert asked.json()["status"] == "remedy_requested"
    [request] = [e for e in await outbox(units) if e.type == "order.remedy_requested"]
    assert request.data["service"] == "billing" and request.data["amount"] == "148.20"
    assert request.data["currency"] == "USD"
    again = await api.post(
        f"/complaints/{complaint['id']}/remedy", json={"remedy": "explanation", "note": "x"}, headers=WHO
    )
    assert again.status_code == 409

    done = REMEDIED["billing"](complaint_id=complaint["id"], remedy=Remedy.CREDIT_NOTE, reference="CN-1")
    await happen(units, clock, order, done, "billing")
    [resolved] = (await api.get(f"/orders/{order.id}/complaints")).json()
    assert resolved["status"] == "resolved" and resolved["remedy_detail"]["reference"] == "CN-1"
    assert ("order.complaint_open", complaint["id"]) not in await open_kinds(units, order)

    other = (
        await api.post(f"/orders/{order.id}/complaints", json={**body, "category": "documents"}, headers=WHO)
    ).json()
    explained = await api.post(
        f"/complaints/{other['id']}/remedy",
        json={"remedy": "explanation", "note": "CO follows by courier"},
        headers=WHO,
    )
    assert explained.json()["status"] == "resolved"


# --- the post-order review -----------------------------------------------------------------------------


async def close(units: UnitOfWorkFactory, clock: FixedClock, order: Order, *, late: bool) -> None:
    invoice = InvoiceIssued(
        invoice_id="IN1",
        invoice_number=f"INV-{order.id}",
        amount=order.total_amount,
        currency="USD",
        due_date=clock.now().date(),
        trigger=InstallmentTrigger.DELIVERY,
    )
    await happen(units, clock, order, work_order(clock), "production")
    clock.advance(timedelta(days=2))
    await happen(units, clock, order, shipment(), "logistics")
    clock.advance(timedelta(days=(50 if late else 3)))
    delivered = ShipmentDelivered(shipment_id="SH1", delivered_at=clock.now(), received_quantity=11)
    await happen(units, clock, order, delivered, "logistics")
    await happen(units, clock, order, invoice, "billing")
    settled = OrderSettled(invoiced_total=order.total_amount, paid_total=order.total_amount)
    await happen(units, clock, order, settled, "billing")


async def test_a_closed_order_is_reviewed_and_the_period_summed(
    units: UnitOfWorkFactory, clock: FixedClock, api: Api
) -> None:
    start = clock.now().date()
    punctual = await take(units, clock)
    await close(units, clock, punctual, late=False)
    late = await take(units, clock)
    assert (await api.get(f"/orders/{late.id}/post-review")).status_code == 404  # not closed yet
    await close(units, clock, late, late=True)

    review = (await api.get(f"/orders/{punctual.id}/post-review")).json()
    assert review["on_time"] is True and review["days_late"] == 0
    assert [s["stage"] for s in review["stages"]][:3] == ["in_review", "accepted", "in_production"]
    assert review["documents"]["missing"] == []  # confirmation, work order, waybill, delivery, invoice
    other = (await api.get(f"/orders/{late.id}/post-review")).json()
    assert other["on_time"] is False and other["days_late"] > 0
    assert other["lead_days"] > review["lead_days"] + 40

    pdf = (await api.get(f"/orders/{late.id}/post-review.pdf")).content
    assert "days late" in pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    period: dict[str, Any] = {"from": str(start), "to": str(clock.now().date())}
    summed = (await api.get("/post-reviews", params=period)).json()["summary"]
    assert (summed["orders"], summed["on_time"], summed["files_complete"]) == (2, 1, 2)
    book = load_workbook(io.BytesIO((await api.get("/post-reviews.xlsx", params=period)).content))
    assert [r[0] for r in book["orders"].iter_rows(min_row=2, values_only=True)] == [punctual.id, late.id]
    async with units() as uow:
        assert await uow.all(select(Task).where(Task.order_id == late.id))  # tasks were made on acceptance


async def test_an_export_s_formalities_follow_the_services_reports(
    units: UnitOfWorkFactory, clock: FixedClock, api: Api
) -> None:
    order = await take(units, clock, export=True)
    found = (await api.get(f"/orders/{order.id}/formalities")).json()
    assert found["export"] is True and found["pending"] == [
        "customs_declaration",
        "commodity_inspection",
        "fx_settlement",
    ]
    held = FORMALITY["logistics"](
        step=FormalityStep.CUSTOMS_DECLARATION, status="held", subject_id="SH1", reason="HS code", blocks_shipment=True
    )
    await happen(units, clock, order, held, "logistics")
    clock.advance(timedelta(hours=1))
    released = held.model_copy(update={"status": "released", "blocks_shipment": False, "reason": ""})
    await happen(units, clock, order, released, "logistics")
    late = Event.new(held, source="logistics", order_id=order.id, clock=FixedClock(clock.now() - timedelta(hours=3)))
    async with units() as uow:  # an older report arriving late changes nothing
        await handlers.on_lifecycle_event(late, uow)
    fx = FORMALITY["billing"](
        step=FormalityStep.FX_SETTLEMENT,
        status="settled",
        subject_id="PAY1",
        currency="USD",
        amount=Decimal("100.00"),
        rate=Decimal("7.10"),
        home_currency="CNY",
        home_amount=Decimal("710.00"),
    )
    await happen(units, clock, order, fx, "billing")
    found = (await api.get(f"/orders/{order.id}/formalities")).json()
    steps = {s["step"]: s for s in found["steps"]}
    assert steps["customs_declaration"]["status"] == "released" and found["blocks_shipment"] is False
    assert steps["fx_settlement"]["facts"]["home_amount"] == "710.00"
    assert found["pending"] == ["commodity_inspection"]
