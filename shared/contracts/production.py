"""Production contracts: work and purchase orders, progress, gates, quality; the MES partner message."""

from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import Field

from shared.contracts.base import (
    Contract,
    EventData,
    LineNo,
    PartnerMessage,
)
from shared.fields import (
    BigCount,
    BusinessDate,
    Count,
    Name,
    OptionalText,
    Quantity,
    Ref,
)

# --- production -------------------------------------------------------------------------


class ProductionOrderCreated(EventData):
    event_type: ClassVar[str] = "production.order_created"
    work_order_id: Ref
    line_no: LineNo
    product: Name
    quantity: Quantity
    kind: Literal["make", "buy"]
    planned_completion: BusinessDate


class ProductionStarted(EventData):
    event_type: ClassVar[str] = "production.started"
    work_order_id: Ref


class ProductionCompleted(EventData):
    event_type: ClassVar[str] = "production.completed"
    work_order_id: Ref
    good_quantity: Count
    scrap_quantity: Count


class LineFeasibility(Contract):
    line_no: LineNo
    earliest_completion: BusinessDate = Field(description="Given today's load and the line's capacity.")
    feasible: bool = Field(description="Completion leaves time to ship by the requested date.")


class ProductionFeasibilityAssessed(EventData):
    """Production's review of an order: when each line could be completed at the earliest."""

    event_type: ClassVar[str] = "production.feasibility_assessed"
    order_version: Annotated[int, Field(ge=1, le=10_000)]
    lines: Annotated[list[LineFeasibility], Field(max_length=500)]
    note: OptionalText = ""


class WorkOrderChanged(EventData):
    """A work order adjusted to an accepted change."""

    event_type: ClassVar[str] = "production.work_order_changed"
    work_order_id: Ref
    line_no: LineNo
    quantity: Quantity
    planned_completion: BusinessDate
    change_id: Ref


class WorkOrderCancelled(EventData):
    """A work order stopped by a cancellation; what was already made is reported."""

    event_type: ClassVar[str] = "production.work_order_cancelled"
    work_order_id: Ref
    line_no: LineNo
    made_quantity: Count = Field(description="Pieces already completed, for a decision on what to do with them.")
    change_id: Ref


class ProductionOrderReady(EventData):
    """Every work order of the order is complete: the goods can go to the warehouse."""

    event_type: ClassVar[str] = "production.order_ready"
    work_order_ids: Annotated[list[Ref], Field(max_length=500)]
    quantity: BigCount


class MilestoneName(StrEnum):
    """The milestones of a work or purchase order, in plan order."""

    MATERIALS_READY = "materials_ready"
    SAMPLE_APPROVED = "sample_approved"
    PRE_PRODUCTION_APPROVED = "pre_production_approved"
    PRODUCTION_STARTED = "production_started"
    FINAL_QC_PASSED = "final_qc_passed"
    COMPLETED = "completed"


class Milestone(Contract):
    name: MilestoneName
    planned: BusinessDate = Field(description="Back-scheduled from the confirmed date.")
    projected: BusinessDate | None = Field(default=None, description="Today's forecast, once one differs from plan.")
    actual: BusinessDate | None = Field(default=None, description="When it was reached.")


class MilestonesChanged(EventData):
    """A work or purchase order's whole milestone plan, published when it is made and whenever a date moves."""

    event_type: ClassVar[str] = "production.milestones_changed"
    work_order_id: Ref
    line_no: LineNo
    milestones: Annotated[list[Milestone], Field(min_length=1, max_length=20)]


class MesEvent(PartnerMessage):
    """Production progress from the factory's MES on `mes.events`."""

    type: Literal["started", "operation_reported", "machine_down", "completed"]
    work_order_id: Ref
    operation: OptionalText = ""
    good_quantity: Count = 0
    scrap_quantity: Count = 0


PRODUCTION_EVENTS: tuple[type[EventData], ...] = (
    ProductionFeasibilityAssessed,
    ProductionOrderCreated,
    ProductionStarted,
    ProductionCompleted,
    ProductionOrderReady,
    WorkOrderChanged,
    WorkOrderCancelled,
    MilestonesChanged,
)
