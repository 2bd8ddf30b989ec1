"""Order service settings."""

from pydantic import Field

from shared.settings import ServiceSettings


class OrderSettings(ServiceSettings):
    service_name: str = "order"
    http_port: int = 8001
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/gendan_order"
    stall_hours: dict[str, float] = Field(
        default_factory=dict,
        description='Per stage, hours without any event before an order is "stalled", e.g. {"in_production": 48};'
        " stages not named keep their default (services/order/domain.py STALL_LIMITS).",
    )
    master_seed: str = Field(
        default="",
        description="A folder with products.csv/.xlsx and customers.csv/.xlsx loaded into the masters at start.",
    )
