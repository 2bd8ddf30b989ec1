"""The post-order review: when an order closes, what was planned against what happened, stage by stage; the
delays and who they are attributed to; every exception and complaint and how it ended; whether the file
is complete. Kept per order (JSON), readable over HTTP, exported as PDF and xlsx, and summed over a
period and customer.
"""

import io
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from sqlmodel import col, select

from services.order import files, kpis
from services.order.models import (
    BoardEntry,
    Complaint,
    LineProgress,
    Order,
    OrderDocument,
    PostOrderReview,
    TimelineEntry,
)
from services.order.tracking import promised
from shared.contracts import Milestone, OrderTerms
from shared.pdf import PdfDocument, PdfTable, render
from shared.unit_of_work import UnitOfWork

DAY = 86_400.0


def _days(start: datetime, end: datetime) -> float:
    return round((end - start).total_seconds() / DAY, 2)


def build(
    order: Order,
    steps: Sequence[kpis.Step],
    exceptions: Iterable[BoardEntry],
    complaints: Iterable[Complaint],
    documents: Iterable[str],
    plans: dict[str, list[Milestone]],
    terms: OrderTerms,
) -> dict[str, Any]:
    """The review of one closed order, from what the order service holds about it. Pure."""
    end = order.delivered_at or order.closed_at or order.updated_at
    promise = promised(order)
    facts = kpis.OrderFacts(
        order.id, order.customer, order.status, order.created_at, promise, order.delivered_at, order.planned_completion
    )
    began = kpis.stage_starts(steps).get(order.id, {})
    stages = []
    for stage, (start, stop) in kpis.stage_spans(began).items():
        stages.append(
            {
                "stage": stage.value,
                "started": start.isoformat(),
                "ended": stop.isoformat(),
                "actual_days": _days(start, stop),
                "planned_days": kpis.planned_days(stage, facts, start),
            }
        )
    milestones = [
        {
            "work_order_id": work_order,
            "milestone": m.name.value,
            "planned": m.planned.isoformat(),
            "actual": m.actual.isoformat() if m.actual else None,
            "slip_days": (m.actual - m.planned).days if m.actual else None,
        }
        for work_order, plan in plans.items()
        for m in plan
    ]
    raised = [
        {
            "kind": e.kind,
            "stage": e.stage,
            "cause": e.cause,
            "severity": e.severity,
            "raised_at": e.raised_at.isoformat(),
            "resolved_at": e.resolved_at.isoformat() if e.resolved_at else None,
            "resolution": e.resolution,
            "hours_open": round(((e.resolved_at or end) - e.raised_at).total_seconds() / 3600, 1),
            "level": e.level,
        }
        for e in exceptions
    ]
    causes = Counter((r["stage"], r["cause"]) for r in raised)
    delivered_on = order.delivered_at.date() if order.delivered_at else None
    checklist = files.checklist(files.order_type(terms), order.status, documents)
    return {
        "order_id": order.id,
        "customer": order.customer,
        "external_ref": order.external_ref,
        "created_at": order.created_at.isoformat(),
        "closed_at": (order.closed_at or end).isoformat(),
        "promised_date": promise.isoformat(),
        "delivered_at": order.delivered_at.isoformat() if order.delivered_at else None,
        "on_time": bool(delivered_on and delivered_on <= promise),
        "days_late": max(0, (delivered_on - promise).days) if delivered_on else None,
        "lead_days": _days(order.created_at, end),
        "stages": stages,
        "milestones": milestones,
        "delays": [{"stage": s, "cause": c, "exceptions": n} for (s, c), n in sorted(causes.items())],
        "exceptions": raised,
        "complaints": [
            {
                "id": c.id,
                "category": c.category,
                "remedy": c.remedy,
                "status": c.status,
                "resolved_at": c.resolved_at.isoformat() if c.resolved_at else None,
            }
            for c in complaints
        ],
        "documents": {
            "complete": all(i.present for i in checklist),
            "missing": [i.kind for i in checklist if not i.present],
        },
        "money": {
            "currency": order.currency,
            "total": str(order.total_amount),
            "invoiced": str(order.invoiced_amount),
            "paid": str(order.paid_amount),
            "credited": str(order.credited_amount),
        },
    }


async def write(uow: UnitOfWork, order: Order) -> PostOrderReview:
    """Generate the review of an order that just closed (again on a later close: the newest facts win)."""
    steps = [
        kpis.Step(order.id, t.type, t.occurred_at)
        for t in await uow.all(select(TimelineEntry).where(TimelineEntry.order_id == order.id))
    ]
    exceptions = await uow.all(
        select(BoardEntry).where(BoardEntry.order_id == order.id).order_by(col(BoardEntry.raised_at))
    )
    complaints = await uow.all(select(Complaint).where(Complaint.order_id == order.id))
    documents = (await uow.session.exec(select(OrderDocument.kind).where(OrderDocument.order_id == order.id))).all()
    plans = {
        p.work_order_id: [Milestone.model_validate(m) for m in p.milestones]
        for p in await uow.all(select(LineProgress).where(LineProgress.order_id == order.id))
        if p.milestones
    }
    terms = OrderTerms.model_validate((await uow.session.exec(select(Order.terms).where(Order.id == order.id))).one())
    review = build(order, steps, exceptions, complaints, documents, plans, terms)
    row = await uow.get(PostOrderReview, order.id, lock=True)
    if row is None:
        row = PostOrderReview(
            order_id=order.id,
            customer=order.customer,
            closed_at=order.closed_at or uow.clock.now(),
            on_time=review["on_time"],
            lead_days=review["lead_days"],
            review=review,
        )
        uow.session.add(row)
    else:
        row.review, row.on_time, row.lead_days = review, review["on_time"], review["lead_days"]
    return row


def summary(reviews: Sequence[PostOrderReview]) -> dict[str, Any]:
    """The reviews of a period summed: punctuality, lead time, delays by cause, complaints, complete files."""
    delays: Counter[tuple[str, str]] = Counter()
    complaints: Counter[str] = Counter()
    for r in reviews:
        for d in r.review.get("delays", []):
            delays[(d["stage"], d["cause"])] += d["exceptions"]
        for c in r.review.get("complaints", []):
            complaints[c["category"]] += 1
    count = len(reviews)
    return {
        "orders": count,
        "on_time": sum(1 for r in reviews if r.on_time),
        "on_time_rate": round(sum(1 for r in reviews if r.on_time) / count, 4) if count else None,
        "mean_lead_days": round(sum(r.lead_days for r in reviews) / count, 2) if count else None,
        "delays": [{"stage": s, "cause": c, "exceptions": n} for (s, c), n in sorted(delays.items())],
        "complaints": dict(sorted(complaints.items())),
        "files_complete": sum(1 for r in reviews if r.review.get("documents", {}).get("complete")),
    }


def as_pdf(review: dict[str, Any]) -> bytes:
    stages = [
        [s["stage"], s["actual_days"], s["planned_days"] if s["planned_days"] is not None else "-"]
        for s in review["stages"]
    ]
    raised = [
        [e["kind"], e["cause"], e["severity"], e["hours_open"], e["resolution"] or "open"] for e in review["exceptions"]
    ]
    complaints = [[c["category"], c["remedy"] or "-", c["status"]] for c in review["complaints"]]
    return render(
        PdfDocument(
            title="Post-order review 订单复盘",
            number=review["order_id"],
            fields=[
                ("Customer", f"{review['customer']} ({review['external_ref']})"),
                ("Promised", review["promised_date"]),
                ("Delivered", review["delivered_at"] or "-"),
                ("On time", "yes" if review["on_time"] else f"no, {review['days_late']} days late"),
                ("Lead time", f"{review['lead_days']} days"),
                (
                    "File complete",
                    "yes" if review["documents"]["complete"] else ", ".join(review["documents"]["missing"]),
                ),
            ],
            tables=[
                PdfTable(
                    ["Stage", "Actual days", "Planned days"], [[str(c) for c in r] for r in stages], "Stages", [1, 2]
                ),
                PdfTable(
                    ["Exception", "Cause", "Severity", "Hours open", "How it ended"],
                    [[str(c) for c in r] for r in raised],
                    "Exceptions",
                    [3],
                ),
                PdfTable(["Complaint", "Remedy", "Status"], complaints, "Complaints"),
            ],
        )
    )


def as_xlsx(reviews: Sequence[dict[str, Any]]) -> bytes:
    """One sheet of orders, one of stages, one of exceptions."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "orders"
    sheet.append(["order", "customer", "promised", "delivered", "on time", "days late", "lead days", "file complete"])
    stages = book.create_sheet("stages")
    stages.append(["order", "stage", "actual days", "planned days"])
    raised = book.create_sheet("exceptions")
    raised.append(["order", "kind", "stage", "cause", "severity", "hours open", "resolution"])
    for r in reviews:
        sheet.append(
            [
                r["order_id"],
                r["customer"],
                r["promised_date"],
                r["delivered_at"],
                r["on_time"],
                r["days_late"],
                r["lead_days"],
                r["documents"]["complete"],
            ]
        )
        for s in r["stages"]:
            stages.append([r["order_id"], s["stage"], s["actual_days"], s["planned_days"]])
        for e in r["exceptions"]:
            raised.append(
                [r["order_id"], e["kind"], e["stage"], e["cause"], e["severity"], e["hours_open"], e["resolution"]]
            )
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()
