"""Production service settings."""

from decimal import Decimal
from functools import cache

from pydantic import Field

from services.production import domain
from shared.settings import ServiceSettings


class ProductionSettings(ServiceSettings):
    service_name: str = "production"
    http_port: int = 8002
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/gendan_production"
    no_mes_report_hours: float = Field(
        default=4, gt=0, description="How long a started work order may go without an MES report."
    )
    daily_capacity: int = Field(default=20_000, gt=0, description="Pieces per day the plant can complete.")
    make_lead_days: int = Field(default=3, ge=0, description="Days before a made line's first piece is complete.")
    buy_lead_days: int = Field(default=10, ge=0, description="Days before a bought line arrives from a supplier.")
    material_share: Decimal = Field(
        default=Decimal("0.6"), ge=0, le=1, description="Share of a bought line's price spent once it is ordered."
    )

    @property
    def plant(self) -> domain.Plant:
        """The capacity the feasibility and change rules plan with."""
        return domain.Plant(
            daily_capacity=self.daily_capacity,
            make_lead_days=self.make_lead_days,
            buy_lead_days=self.buy_lead_days,
            material_share=self.material_share,
        )


@cache
def plant() -> domain.Plant:
    """The plant of this process, read from the environment once (handlers receive no settings)."""
    return ProductionSettings().plant
