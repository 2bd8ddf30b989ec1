"""The product and customer masters review checks orders against: managed over HTTP, loaded from CSV or
Excel files (an upload, or a folder named by MASTER_SEED when the service starts)."""

import logging
from collections.abc import Sequence
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select

from services.order.models import Customer, Product
from shared import tables
from shared.fields import Currency, Money, Name, OptionalText, Ref
from shared.service import Runtime
from shared.unit_of_work import UnitOfWork

log = logging.getLogger("gendan.order.masters")


class ProductIn(BaseModel):
    """One product master entry (a CSV/Excel row has these columns)."""

    model_config = ConfigDict(extra="forbid")

    sku: Ref
    name: Name
    unit: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,16}$")] = "pcs"
    list_price: Money
    currency: Currency
    lead_time_days: Annotated[int, Field(ge=0, le=730)] = Field(description="Days from order to delivery at least.")
    price_tolerance_percent: Annotated[Decimal, Field(ge=0, le=100, decimal_places=2)] = Decimal(5)
    active: bool = True


class CustomerIn(BaseModel):
    """One customer master entry."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    credit_limit: Money
    currency: Currency
    contact_email: OptionalText = ""
    active: bool = True


class ProductPublic(ProductIn):
    pass


class CustomerPublic(CustomerIn):
    pass


class ImportResult(BaseModel):
    imported: int = Field(description="Rows written (new or updated).")


async def upsert(uow: UnitOfWork, entries: Sequence[ProductIn | CustomerIn]) -> int:
    """Write entries, replacing those with the same key: one statement per table, however many rows."""
    now = uow.clock.now()
    for table, model, key in ((Product, ProductIn, "sku"), (Customer, CustomerIn, "name")):
        rows = [{**e.model_dump(), "updated_at": now} for e in entries if isinstance(e, model)]
        if rows:
            stmt = insert(table)
            replace = {column: stmt.excluded[column] for column in rows[0] if column != key}
            await uow.session.exec(stmt.on_conflict_do_update(index_elements=[key], set_=replace), params=rows)
    return len(entries)


async def products(uow: UnitOfWork) -> list[Product]:
    return await uow.all(select(Product).order_by(col(Product.sku)))


async def customers(uow: UnitOfWork) -> list[Customer]:
    return await uow.all(select(Customer).order_by(col(Customer.name)))


async def seed(runtime: Runtime) -> None:
    """At start, before serving: load `products.csv` / `customers.csv` (or .xlsx) from MASTER_SEED, if set."""
    folder = getattr(runtime.settings, "master_seed", "")
    kinds: list[tuple[str, type[ProductIn] | type[CustomerIn]]] = [("products", ProductIn), ("customers", CustomerIn)]
    for name, model in kinds:
        if found := tables.seed_file(folder, name):
            entries: list[Any] = tables.parse(*found, model)
            async with runtime.units() as uow:
                count = await upsert(uow, entries)
            log.info("loaded %d %s from %s", count, name, folder)
