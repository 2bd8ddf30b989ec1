"""The customer's tracking page, public under /track/{token}: the order's milestones and its shipments' tracking,
nothing internal (no exceptions, reviews, costs or people), for as long as the signed link is valid."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import FileResponse
from sqlmodel import col, select

from services.order import milestones, tracking
from services.order.console import i18n, links, peers, settings
from services.order.console.pages import STATIC, Lang, render
from services.order.models import Order, TimelineEntry
from shared.service import RuntimeDep

public = APIRouter(prefix="/track", include_in_schema=False)
SHOWN_SCAN_FIELDS = ("occurred_at", "status", "location", "remark")
SHOWN_SHIPMENT_FIELDS = ("tracking_number", "carrier", "status", "eta", "dispatched_at", "delivered_at")


def customer_milestones(entries: list[TimelineEntry]) -> list[dict[str, Any]]:
    """The milestones a customer is told of, once each, from the order's events."""
    seen: list[dict[str, Any]] = []
    for entry in entries:
        found = milestones.MILESTONE_OF_EVENT.get(entry.type)
        if found is None or _not_for_customer(entry):
            continue
        if found in milestones.ONCE and any(m["milestone"] == found.value for m in seen):
            continue
        seen.append({"milestone": found.value, "at": entry.occurred_at})
    return seen


def _not_for_customer(entry: TimelineEntry) -> bool:
    """A held shipment has not shipped, a cancelled one is no new date, one part delivered is not the order."""
    data = entry.data
    if entry.type == "logistics.shipment_planned":
        return bool(data.get("held"))
    if entry.type == "logistics.shipment_changed":
        return bool(data.get("cancelled"))
    if entry.type == "logistics.shipment_delivered":
        return not data.get("order_delivered", True)
    return False


def _public(record: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {name: record.get(name) or None for name in names}


@public.get("/{token}")
async def track(
    request: Request,
    runtime: RuntimeDep,
    fmt: Lang,
    token: Annotated[str, Path(min_length=10, max_length=500)],
    lang: Annotated[Literal["en", "zh"] | None, Query()] = None,
) -> Response:
    """What the customer sees of its order while its link is valid; 403 for a tampered or expired link."""
    fmt = i18n.formats_for(lang) if lang else fmt
    secret = settings.current().tracking_link_secret.get_secret_value()
    try:
        order_id, expires = links.verify(token, secret=secret, now=runtime.clock.now())
    except links.LinkRefused:
        return render(request, fmt, "track_refused.html", status_code=403)
    async with runtime.sessions() as session:
        order = await session.get(Order, order_id)
        query = select(TimelineEntry).where(TimelineEntry.order_id == order_id).order_by(col(TimelineEntry.occurred_at))
        entries = list((await session.exec(query)).all())
    if order is None:
        return render(request, fmt, "track_refused.html", status_code=403)
    shipments, scans = await peers.customer_shipments(runtime, order_id)
    shown = [
        {
            **_public(s, SHOWN_SHIPMENT_FIELDS),
            "scans": [
                _public(x, SHOWN_SCAN_FIELDS) for x in (scans.get(f"scans:{s.get('id')}") or peers.Answer()).data or []
            ],
        }
        for s in shipments.data or []
        if isinstance(s, dict) and not s.get("held")
    ]
    return render(
        request,
        fmt,
        "track.html",
        order=order,
        promised=tracking.promised(order),
        projected=tracking.projected_delivery(order),
        milestones=customer_milestones(entries),
        shipments=shown,
        expires=expires,
    )


@public.get("/assets/console.css")
async def track_css() -> FileResponse:
    """The page's stylesheet (the customer's page needs no script)."""
    return FileResponse(STATIC / "console.css", media_type="text/css")
