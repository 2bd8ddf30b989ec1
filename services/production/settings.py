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
    delay_tolerance_days: int = Field(
        default=1, ge=0, le=60, description="Days a projected completion may pass the plan before delay risk."
    )
    scrap_threshold: float = Field(
        default=0.05, gt=0, le=1, description="Share of an operation's pieces scrapped before it is an exception."
    )
    risk_min_hours: float = Field(
        default=1, ge=0, description="Hours of production observed before its rate is trusted for a projection."
    )
    rework_days: int = Field(default=2, ge=0, le=60, description="Days a rework decision adds to the plan.")
    master_seed: str = Field(
        default="",
        description="A folder whose production/products.csv (make or buy, lead times, routing, capacity) is loaded"
        " into the product master at start.",
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

    @property
    def policy(self) -> domain.Policy:
        """The early-warning thresholds the handlers and watch rules apply."""
        return domain.Policy(
            delay_tolerance_days=self.delay_tolerance_days,
            scrap_threshold=self.scrap_threshold,
            risk_min_hours=self.risk_min_hours,
            rework_days=self.rework_days,
        )


@cache
def policy() -> domain.Policy:
    """The thresholds of this process, read from the environment once."""
    return ProductionSettings().policy


@cache
def plant() -> domain.Plant:
    """The plant of this process, read from the environment once (handlers receive no settings)."""
    return ProductionSettings().plant
