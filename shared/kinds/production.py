"""The exception kinds of the production stage."""

from shared.kinds.base import HOUR, Cause, Kind, Role, Severity, Stage

PRODUCTION_KINDS = (
    Kind(
        "production.no_mes_report",
        Stage.PRODUCTION,
        Severity.MEDIUM,
        Role.PLANNER,
        4 * HOUR,
        Cause.INTERNAL,
        "Call the workshop: is the work order running, and is the MES reporting?",
        "A started work order has had no MES report for longer than the limit.",
    ),
    Kind(
        "production.short_quantity",
        Stage.PRODUCTION,
        Severity.HIGH,
        Role.PLANNER,
        8 * HOUR,
        Cause.INTERNAL,
        "Decide with the customer: ship short, or make up the shortfall.",
        "A work order completed with fewer good pieces than ordered, beyond the tolerance.",
    ),
    Kind(
        "production.message_waiting",
        Stage.PRODUCTION,
        Severity.MEDIUM,
        Role.PLANNER,
        8 * HOUR,
        Cause.SUPPLIER,
        "Check the reference with the MES or supplier; correct and resend it.",
        "A partner message names a work order Gendan does not know, and has waited too long.",
    ),
)
