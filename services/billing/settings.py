"""Billing service settings."""

from decimal import Decimal
from typing import Annotated

from pydantic import Field, field_validator

from shared.settings import ServiceSettings

Rate = Annotated[Decimal, Field(ge=0, le=100)]


class BillingSettings(ServiceSettings):
    service_name: str = "billing"
    http_port: int = 8004
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/gendan_billing"
    home_currency: str = Field(default="CNY", description="The currency the books are kept in (FX settlement).")
    fx_rates: dict[str, Decimal] = Field(
        default_factory=lambda: {"USD": Decimal("7.10"), "EUR": Decimal("7.75"), "GBP": Decimal("9.05")},
        description="Home-currency units per unit of each currency, where finance does not report the bank's rate.",
    )
    unmatched_payment_hours: float = Field(
        default=1,
        gt=0,
        description="How long a payment may stay unmatched (its invoice not issued) before it is an exception.",
    )
    invoice_number_scheme: str = Field(
        default="INV-{order_id}-{part}",
        description="Invoice numbers: {order_id}, {part} (installment, then -2, -3 for its further invoices), {year},"
        " {seq} (gap-free per year, e.g. INV-{year}-{seq:06d}).",
    )
    credit_note_number_scheme: str = Field(
        default="CN-{order_id}-{part}", description="Credit note numbers; {part} counts the order's credit notes."
    )
    seller: str = Field(default="Gendan Trading Co., Ltd.", description="Who issues the invoices (on the PDF).")
    home_country: str = Field(default="CN", pattern=r"^[A-Z]{2}$", description="Deliveries here are domestic.")
    domestic_tax_rate: Rate = Field(default=Decimal(13), description="VAT in percent on domestic invoices.")
    export_tax_rate: Rate = Field(default=Decimal(0), description="VAT in percent on export invoices.")
    tax_rates: dict[str, Rate] = Field(default_factory=dict, description="VAT by destination country, overriding both.")
    reminder_days: list[int] = Field(
        default=[-3, 1, 7, 15],
        description="Days relative to the due date on which an unpaid invoice is reminded; each one a level higher.",
    )
    overdue_exception_level: int = Field(
        default=2, ge=1, description="The escalation level at which an unpaid invoice raises billing.payment_overdue."
    )
    dso_window_days: int = Field(default=90, ge=1, le=3650, description="The sales window of days sales outstanding.")

    @field_validator("invoice_number_scheme", "credit_note_number_scheme")
    @classmethod
    def _a_scheme(cls, scheme: str) -> str:
        try:
            example = scheme.format(order_id="SO" + "X" * 18, part="12-34", year=2027, seq=123456)
        except (KeyError, IndexError, ValueError) as error:
            raise ValueError(f"a number scheme may use {{order_id}}, {{part}}, {{year}}, {{seq}}: {error}") from error
        if not 1 <= len(example) <= 64 or ("{order_id" not in scheme and "{seq" not in scheme):
            raise ValueError("a number scheme needs {order_id} or {seq} and makes at most 64 characters")
        return scheme

    @field_validator("reminder_days")
    @classmethod
    def _ascending(cls, days: list[int]) -> list[int]:
        if not days or days != sorted(set(days)) or not all(-365 <= d <= 3650 for d in days):
            raise ValueError("reminder_days: distinct days in ascending order, e.g. [-3, 1, 7, 15]")
        return days

    def tax_rate(self, country: str) -> Decimal:
        """The VAT rate (percent) of invoices for goods delivered to `country`."""
        if country in self.tax_rates:
            return self.tax_rates[country]
        return self.domestic_tax_rate if country == self.home_country else self.export_tax_rate


_current: list[BillingSettings] = []


def configure(settings: BillingSettings) -> None:
    """Use these settings from now on (the running service's, or a test's)."""
    _current[:] = [settings]


def current() -> BillingSettings:
    """The settings in use: the ones configured, else read from the environment once."""
    if not _current:
        _current.append(BillingSettings())
    return _current[0]
