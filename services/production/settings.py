"""Production service settings."""

from shared.settings import ServiceSettings


class ProductionSettings(ServiceSettings):
    service_name: str = "production"
    http_port: int = 8002
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/gendan_production"
