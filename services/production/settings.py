"""Production service settings."""

from pydantic import Field

from shared.settings import ServiceSettings


class ProductionSettings(ServiceSettings):
    service_name: str = "production"
    http_port: int = 8002
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/gendan_production"
    no_mes_report_hours: float = Field(
        default=4, gt=0, description="How long a started work order may go without an MES report."
    )
