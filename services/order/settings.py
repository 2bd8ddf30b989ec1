"""Order service settings."""

from shared.settings import ServiceSettings


class OrderSettings(ServiceSettings):
    service_name: str = "order"
    http_port: int = 8001
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/gendan_order"
