"""The settings base every service extends: one object per process, read from the environment."""

import os
from typing import Literal, Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url


class KafkaSettings(BaseSettings):
    """Where Kafka is and who this process is on it: no username means a plaintext broker."""

    # Secrets from the environment, or from files (one per setting, as Kubernetes mounts secrets) in the folder
    # GENDAN_SECRETS_DIR names: e.g. <dir>/database_url, <dir>/kafka_password.
    model_config = SettingsConfigDict(
        env_file=None, extra="ignore", secrets_dir=os.environ.get("GENDAN_SECRETS_DIR") or None
    )

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_username: str = Field(default="", description="SASL principal; empty: PLAINTEXT, no authentication.")
    kafka_password: str = Field(default="", repr=False)
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = "SCRAM-SHA-512"
    kafka_security_protocol: Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL"] | None = Field(
        default=None, description="Default: SASL_PLAINTEXT with a username, else PLAINTEXT; SASL_SSL needs TLS."
    )
    kafka_ssl_cafile: str = Field(default="", description="The CA that signed the broker's TLS certificate.")

    @model_validator(mode="after")
    def _password_with_username(self) -> Self:
        if self.kafka_username and not self.kafka_password:
            raise ValueError("KAFKA_PASSWORD must be set with KAFKA_USERNAME")
        if self.kafka_security_protocol in ("SASL_PLAINTEXT", "SASL_SSL") and not self.kafka_username:
            raise ValueError(f"KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs KAFKA_USERNAME")
        return self


class ServiceSettings(KafkaSettings):
    """Connection and runtime settings common to every service."""

    service_name: str = "gendan"
    env: Literal["development", "test", "production"] = Field(default="development", alias="GENDAN_ENV")
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    topic_prefix: str = Field(default="", alias="GENDAN_TOPIC_PREFIX")
    topic_partitions: int = Field(default=6, alias="GENDAN_TOPIC_PARTITIONS", ge=1)
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    log_level: str = "INFO"
    migrate_on_start: bool = True
    db_pool_size: int = 10
    relay_batch_size: int = 500
    relay_poll_seconds: float = 0.2
    consumer_batch_size: int = Field(default=200, ge=1, description="Most records applied in one transaction.")
    handler_max_attempts: int = Field(default=3, ge=1)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, description="Largest HTTP request body accepted.")
    park_timeout_hours: float = Field(
        default=168, gt=0, description="How long an early message may wait before it is dead-lettered."
    )
    watch_seconds: float = Field(default=60, gt=0, description="How often the time-based exception rules run.")
    message_waiting_hours: float = Field(
        default=1, gt=0, description="How long a message may wait for something unknown before it is an exception."
    )
    retry_backoff_seconds: float = 0.2
    retry_backoff_max_seconds: float = 10.0
    outbox_retention_hours: float = Field(default=24, gt=0, description="How long sent events stay in the outbox.")
    inbox_retention_days: float = Field(
        default=14, gt=0, description="How long applied message ids are kept: longer than Kafka keeps the messages."
    )

    @model_validator(mode="after")
    def _no_insecure_defaults(self) -> Self:
        """Production runs only on servers named explicitly, with a database password."""
        if self.env != "production":
            return self
        for name in ("database_url", "kafka_bootstrap_servers"):
            if name not in self.model_fields_set:
                raise ValueError(f"{name.upper()} must be set explicitly in production")
        if not make_url(self.database_url).password:
            raise ValueError("DATABASE_URL needs a password in production")
        return self
