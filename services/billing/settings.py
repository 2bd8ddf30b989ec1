"""Billing service settings."""

from shared.settings import ServiceSettings


class BillingSettings(ServiceSettings):
    service_name: str = "billing"
    http_port: int = 8004
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/gendan_billing"
