"""Logistics service settings."""

from pydantic import Field

from shared.settings import ServiceSettings


class LogisticsSettings(ServiceSettings):
    service_name: str = "logistics"
    http_port: int = 8003
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/gendan_logistics"
    no_scan_hours: float = Field(default=24, gt=0, description="How long a moving shipment may go without a scan.")
