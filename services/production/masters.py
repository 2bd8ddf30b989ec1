"""Production's product master: make or buy, lead times, routing and daily capacity per product. Managed over
HTTP and loaded from `production/products.csv` under MASTER_SEED when the service starts."""

import logging
from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, or_, select

from services.production.models import ProductRouting
from shared import tables
from shared.contracts import OrderLine
from shared.fields import Name, Ref
from shared.service import Runtime
from shared.unit_of_work import UnitOfWork

log = logging.getLogger("gendan.production.masters")

SEED_FILE = "production/products"  # .csv or .xlsx in the MASTER_SEED folder
Days = Annotated[int, Field(ge=0, le=365)]


def _split(value: object) -> object:
    """A CSV cell `cutting;machining;assembly` is the routing's operations in order."""
    return [part.strip() for part in value.split(";") if part.strip()] if isinstance(value, str) else value


def _flag(value: object) -> object:
    return value.strip().lower() in ("true", "yes", "1", "y") if isinstance(value, str) else value


Flag = Annotated[bool, BeforeValidator(_flag)]


class ProductRoutingIn(BaseModel):
    """One product as production plans it (a row of production/products.csv has these columns)."""

    model_config = ConfigDict(extra="forbid")

    sku: Ref
    name: Name = Field(description="The product as orders name it, matched when a line has no SKU.")
    make_or_buy: Literal["make", "buy"] = "make"
    supplier: Annotated[str, Field(max_length=200)] = Field(default="", description="buy: who it is bought from.")
    material_lead_days: Days = Field(default=3, description="make: days to get material; buy: the supplier's lead.")
    sample_required: Flag = Field(default=False, description="The customer approves a sample before production.")
    sample_days: Days = Field(default=7, description="Days from material to an approved sample.")
    pre_production_required: Flag = Field(default=False, description="The customer approves a pre-production run.")
    pre_production_days: Days = Field(default=3, description="Days from the sample to pre-production approval.")
    qc_days: Annotated[int, Field(ge=0, le=60)] = Field(default=1, description="Days of final or incoming QC.")
    operations: Annotated[list[Name], BeforeValidator(_split), Field(max_length=50)] = Field(
        default_factory=list, description="The routing, in order (in a CSV: separated by `;`)."
    )
    daily_capacity: Annotated[int, Field(ge=1, le=10_000_000)] = Field(
        default=20_000, description="Pieces a day its line completes."
    )


class ProductRoutingPublic(ProductRoutingIn):
    pass


async def upsert(uow: UnitOfWork, entries: Sequence[ProductRoutingIn]) -> int:
    """Write entries, replacing those with the same SKU, in one statement."""
    rows = [{**e.model_dump(), "updated_at": uow.clock.now()} for e in entries]
    if rows:
        stmt = insert(ProductRouting)
        replace = {column: stmt.excluded[column] for column in rows[0] if column != "sku"}
        await uow.session.exec(stmt.on_conflict_do_update(index_elements=["sku"], set_=replace), params=rows)
    return len(rows)


async def find(uow: UnitOfWork, lines: Sequence[OrderLine]) -> dict[int, ProductRouting]:
    """The master entry of each line that has one: by SKU, else by product name (one query for the order)."""
    skus = [line.sku for line in lines if line.sku]
    names = [line.product for line in lines]
    query = select(ProductRouting).where(or_(col(ProductRouting.sku).in_(skus), col(ProductRouting.name).in_(names)))
    found = await uow.all(query)
    by_sku, by_name = {p.sku: p for p in found}, {p.name: p for p in found}
    matched = {line.line_no: by_sku.get(line.sku or "") or by_name.get(line.product) for line in lines}
    return {line_no: product for line_no, product in matched.items() if product is not None}


async def seed(runtime: Runtime) -> None:
    """At start, before serving: load production/products.csv (or .xlsx) from MASTER_SEED, if there is one."""
    folder = getattr(runtime.settings, "master_seed", "")
    if found := tables.seed_file(folder, SEED_FILE):
        entries = tables.parse(*found, ProductRoutingIn)
        async with runtime.units() as uow:
            count = await upsert(uow, entries)
        log.info("loaded %d products from %s", count, folder)
