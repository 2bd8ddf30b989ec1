"""Order service settings."""

from pathlib import Path

from pydantic import Field, SecretStr

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
    files_url: str = Field(
        default_factory=lambda: (Path.cwd() / ".gendan" / "files").as_uri(),
        description="The object store for uploaded files: file:///folder, s3://bucket/prefix (AWS_* env), memory://.",
    )
    service_urls: dict[str, str] = Field(
        default_factory=dict,
        description='Where the other services answer, e.g. {"logistics": "http://logistics:8003"}: the order\'s file'
        " reads their documents through their HTTP APIs.",
    )
    service_token: SecretStr = Field(
        default=SecretStr(""),
        description="This service's bearer token towards the others' APIs (OAuth client credentials in production).",
    )
    master_seed: str = Field(
        default="",
        description="A folder with products.csv/.xlsx and customers.csv/.xlsx loaded into the masters at start.",
    )
