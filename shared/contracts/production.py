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
    operations: Annotated[list[Name], Field(max_length=50)] = Field(
        default_factory=list, description="The routing: the operations the MES reports, in order."
    )
    released: bool = Field(
        default=True,
        description="False: production waits for the customer's sample / pre-production approval;"
        " production.work_order_released follows it.",
    )


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


Gate = Literal["sample", "pre_production"]
InspectionStage = Literal["incoming", "in_process", "final"]
QualityDecision = Literal["rework", "scrap", "concession"]


class PurchaseOrderCreated(EventData):
    """A purchase order for a bought line, sent to its supplier (who answers on `supplier.events`)."""

    event_type: ClassVar[str] = "production.purchase_order_created"
    purchase_order_id: Ref
    line_no: LineNo
    product: Name
    sku: Ref | None = None
    quantity: Quantity
    supplier: Name
    needed_by: BusinessDate = Field(description="The date the goods must be received and inspected.")


class WorkOrderReleased(EventData):
    """Every approval a work order waits for is given: the MES may start it."""

    event_type: ClassVar[str] = "production.work_order_released"
    work_order_id: Ref


class GateDecided(EventData):
    """The customer approved or rejected a sample or the pre-production sample."""

    event_type: ClassVar[str] = "production.gate_decided"
    work_order_id: Ref
    gate: Gate
    approved: bool
    comments: OptionalText = ""
    evidence: Annotated[list[Ref], Field(max_length=20)] = Field(
        default_factory=list, description="References of photos, reports or mails behind the decision."
    )
    by: Name


class InspectionRecorded(EventData):
    """An inspection (incoming, in-process or final) with its result."""

    event_type: ClassVar[str] = "production.inspection_recorded"
    work_order_id: Ref
    inspection_id: Ref
    stage: InspectionStage
    passed: bool
    inspected_quantity: Count = 0
    defect_quantity: Count = 0
    note: OptionalText = ""


class QualityDecided(EventData):
    """What is done with a failed inspection's goods: reworked, scrapped or accepted by concession."""

    event_type: ClassVar[str] = "production.quality_decided"
    work_order_id: Ref
    inspection_id: Ref
    decision: QualityDecision
    by: Name


class ProgressReported(EventData):
    """MES progress on one operation, rolled up to the work order and the order line."""

    event_type: ClassVar[str] = "production.progress_reported"
    work_order_id: Ref
    line_no: LineNo
    operation: OptionalText = ""
    good_quantity: Count = Field(description="Good pieces of this operation so far.")
    scrap_quantity: Count = Field(description="Scrapped pieces of this operation so far.")
    line_good_quantity: BigCount = Field(description="Finished good pieces of the order line so far.")
    line_scrap_quantity: BigCount = Field(description="Scrapped pieces of the order line so far.")


class MesEvent(PartnerMessage):
    """Production progress from the factory's MES on `mes.events`.

    `operation_reported` carries the operation's totals so far (a later report replaces an earlier one;
    one older than the last applied changes nothing); `machine_down` / `machine_up` name the machine or
    line in `operation`."""

    type: Literal["started", "operation_reported", "machine_down", "machine_up", "completed"]
    work_order_id: Ref
    operation: OptionalText = ""
    good_quantity: Count = 0
    scrap_quantity: Count = 0
    reason: OptionalText = Field(default="", description="Why a machine is down, in the MES's words.")


class SupplierEvent(PartnerMessage):
    """A supplier's answer to a purchase order on `supplier.events` (or `POST /supplier-events`)."""

    type: Literal["confirmed", "shipped", "received", "inspected"]
    purchase_order_id: Ref
    confirmed_date: BusinessDate | None = Field(default=None, description="confirmed: the date the supplier promises.")
    quantity: Count = Field(default=0, description="shipped / received: pieces; inspected: pieces accepted.")
    passed: bool | None = Field(default=None, description="inspected: the incoming inspection's result.")
    note: OptionalText = ""


PRODUCTION_EVENTS: tuple[type[EventData], ...] = (
    ProductionFeasibilityAssessed,
    ProductionOrderCreated,
    ProductionStarted,
    ProductionCompleted,
    ProductionOrderReady,
    WorkOrderChanged,
    WorkOrderCancelled,
    MilestonesChanged,
    PurchaseOrderCreated,
    WorkOrderReleased,
    GateDecided,
    InspectionRecorded,
    QualityDecided,
    ProgressReported,
)
