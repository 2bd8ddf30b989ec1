"""The console's own settings: the key that signs customer tracking links and how long a link lives."""

from functools import cache
from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_SECRET = "gendan-development-tracking-link-secret"  # noqa: S105 (refused in production)


class ConsoleSettings(BaseSettings):
    """Read from the environment (TRACKING_LINK_SECRET, TRACKING_LINK_DAYS, GENDAN_ENV)."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    env: Literal["development", "test", "production"] = Field(default="development", alias="GENDAN_ENV")
    tracking_link_secret: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_SECRET),
        description="Signs the customers' read-only tracking links; must be set (and kept) in production.",
    )
    tracking_link_days: int = Field(default=30, ge=1, le=366, description="How long a new tracking link is valid.")

    @model_validator(mode="after")
    def _secret_in_production(self) -> Self:
        if self.env == "production" and self.tracking_link_secret.get_secret_value() == DEVELOPMENT_SECRET:
            raise ValueError("TRACKING_LINK_SECRET must be set in production")
        return self


@cache
def current() -> ConsoleSettings:
    """The settings of this process, read once."""
    return ConsoleSettings()
