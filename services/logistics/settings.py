"""Logistics service settings."""

from decimal import Decimal
from functools import cache
from typing import Annotated

from pydantic import Field

from services.logistics import domain
from shared.settings import ServiceSettings

DEFAULT = domain.Freight()


class LogisticsSettings(ServiceSettings):
    service_name: str = "logistics"
    http_port: int = 8003
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/gendan_logistics"
    no_scan_hours: float = Field(default=24, gt=0, description="How long a moving shipment may go without a scan.")
    freight_per_kg: dict[domain.Mode, Annotated[Decimal, Field(ge=0)]] = Field(
        default_factory=lambda: dict(DEFAULT.per_kg),
        description="Freight per kg by mode, in the order's currency (JSON), for the cost of a change.",
    )
    kg_per_piece: Decimal = Field(
        default=DEFAULT.kg_per_piece, gt=0, description="Estimated weight of a piece, for changes before packing."
    )

    @property
    def freight(self) -> domain.Freight:
        """The rates and weights the change rules estimate with; a mode left out keeps its default rate."""
        return domain.Freight(per_kg={**DEFAULT.per_kg, **self.freight_per_kg}, kg_per_piece=self.kg_per_piece)


@cache
def freight() -> domain.Freight:
    """The freight of this process, read from the environment once (handlers receive no settings)."""
    return LogisticsSettings().freight
