"""Logistics service settings."""

from base64 import b64encode
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import Field, model_validator

from services.logistics import carriers, domain, planning
from shared.settings import ServiceSettings

DEFAULT = domain.Freight()
SEED = Path(__file__).resolve().parents[2] / "deploy" / "seed" / "logistics"
# Development secrets (Standard Webhooks `whsec_` + base64 of "<carrier>-dev-webhook-<n>"), two per carrier as
# during a rotation; a later issue refuses defaults in production.
DEV_SECRETS = {
    carrier: [f"whsec_{b64encode(f'{carrier}-dev-webhook-{n}'.encode()).decode()}" for n in (1, 2)]
    for carrier in ("sf-express", "deppon", "cosco", "maersk", "dhl-express", "ups", "air-china-cargo")
}


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
    modes_file: Path = Field(default=SEED / "modes.yaml", description="The mode cost and transit-time table.")
    carrier_codes_dir: Path = Field(
        default=SEED / "carriers", description="One YAML file per carrier mapping its status codes."
    )
    consolidate_packing: bool = Field(
        default=False,
        description="True: a packed batch joins the order's shipment still waiting to leave instead of planning "
        "another (one shipment per order while nothing has left).",
    )
    webhook_secrets: dict[str, list[str]] = Field(
        default_factory=lambda: {k: list(v) for k, v in DEV_SECRETS.items()},
        description="Per carrier, the webhook signing secrets accepted (two during a rotation), `whsec_...`.",
    )
    webhook_tolerance_seconds: int = Field(
        default=300, gt=0, le=3600, description="How old (or early) a signed webhook timestamp may be."
    )

    @model_validator(mode="after")
    def _own_secrets_in_production(self) -> "LogisticsSettings":
        """Production accepts only carriers' secrets it was given (WEBHOOK_SECRETS, or a secrets file), never the
        development ones."""
        if self.env != "production":
            return self
        given = {s for secrets in self.webhook_secrets.values() for s in secrets}
        if "webhook_secrets" not in self.model_fields_set or given & {s for v in DEV_SECRETS.values() for s in v}:
            raise ValueError("WEBHOOK_SECRETS must be set in production, without the development secrets")
        return self

    @property
    def freight(self) -> domain.Freight:
        """The rates and weights the change rules estimate with; a mode left out keeps its default rate."""
        return domain.Freight(per_kg={**DEFAULT.per_kg, **self.freight_per_kg}, kg_per_piece=self.kg_per_piece)


@cache
def settings() -> LogisticsSettings:
    """The settings of this process, read from the environment once (handlers receive no settings)."""
    return LogisticsSettings()


def freight() -> domain.Freight:
    """The freight of this process."""
    return settings().freight


@cache
def mode_table() -> planning.ModeTable:
    """The mode table of this process, from its YAML file."""
    return load_mode_table(settings().modes_file)


@cache
def code_maps() -> dict[str, carriers.CodeMap]:
    """Every carrier's status-code map of this process, from its YAML files."""
    return load_code_maps(settings().carrier_codes_dir)


def code_map(carrier: str) -> carriers.CodeMap:
    """One carrier's code map (Gendan's own status names only, for a carrier without a file)."""
    return code_maps().get(carrier) or carriers.unmapped(carrier)


def load_mode_table(path: Path) -> planning.ModeTable:
    """A mode table from YAML (see deploy/seed/logistics/modes.yaml)."""
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    modes = {}
    for name, m in data["modes"].items():
        legs = tuple(
            planning.LegSpec(planning.Mode(leg["mode"]), leg["carrier"], leg["origin"], leg["destination"], leg["days"])
            for leg in m.get("legs", ())
        )
        modes[planning.Mode(name)] = planning.ModeSpec(
            carrier=m["carrier"],
            transit_days=int(m["transit_days"]),
            per_kg=Decimal(str(m["per_kg"])),
            minimum=Decimal(str(m.get("minimum", 0))),
            kg_per_m3=int(m.get("kg_per_m3", 167)),
            max_kg=Decimal(str(m["max_kg"])) if m.get("max_kg") is not None else None,
            domestic=bool(m.get("domestic", True)),
            export=bool(m.get("export", True)),
            legs=legs,
        )
    return planning.ModeTable(modes, int(data.get("buffer_days", 3)))


def load_code_maps(folder: Path) -> dict[str, carriers.CodeMap]:
    """Every carrier's code map in a folder of YAML files."""
    maps = {}
    for path in sorted(folder.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        maps[data["carrier"]] = carriers.code_map(data["carrier"], data)
    return maps
