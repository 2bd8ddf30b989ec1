"""Example messages for the published schemas: the ids they share, and one module of new examples per domain
(`EXAMPLES`: event type -> payload, `PARTNER_EXAMPLES`: topic -> message), merged by `shared.schemas`."""

ORDER_ID = "SO4C0F2A9B1D3E5F70"
WORK_ORDER_ID = "WO3F2A9C7E1B5D8A04"
SHIPMENT_ID = "SH7D1E9A3C5B2F8E60"
TRACKING_NUMBER = "GD7A1C3E5B9D2F"
INVOICE_NUMBER = f"INV-{ORDER_ID}-1"
OCCURRED_AT = "2027-02-10T08:15:00+08:00"
