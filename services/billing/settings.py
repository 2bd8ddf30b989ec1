"""Billing service settings."""

from pydantic import Field

from shared.settings import ServiceSettings


class BillingSettings(ServiceSettings):
    service_name: str = "billing"
    http_port: int = 8004
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/gendan_billing"
    unmatched_payment_hours: float = Field(
        default=1, gt=0, description="How long a payment may name an invoice not issued before it is an exception."
    )
