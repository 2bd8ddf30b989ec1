"""Field types for every contract and HTTP model: bounded, clean, in ranges a business would use.

Anything a partner or a person can type ends up in PostgreSQL and in events other services
read, so text refuses what PostgreSQL cannot store (NUL) or UTF-8 cannot encode (lone
surrogates), and other control characters nobody types on purpose; every length fits the
events it is copied into; dates stay in years a business uses (PostgreSQL would store
`date.max` as `infinity`); codes are checked against ISO 4217 and ISO 3166.
"""

import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

import pycountry
from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field

# C0 controls other than tab, line feed and carriage return, and DEL.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)


def clean_text(value: str) -> str:
    """Refuse text that PostgreSQL or UTF-8 cannot hold, or that carries control characters."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    if match := _CONTROL.search(value):
        raise ValueError(f"must not contain control character U+{ord(match.group()):04X}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError("must not contain lone surrogates (not valid Unicode)") from error
    return value


def scrub(value: str, max_length: int) -> str:
    """Text from elsewhere made storable: what `clean_text` refuses becomes U+FFFD, cut to length."""
    return _SURROGATE.sub("\ufffd", _CONTROL.sub("\ufffd", value))[:max_length]


def _business_date(value: date) -> date:
    if not EARLIEST <= value <= LATEST:
        raise ValueError(f"must be between {EARLIEST} and {LATEST}")
    return value


def _business_time(value: datetime) -> datetime:
    _business_date(value.date())
    return value


NOT_MONEY = {"XXX", "XTS"}  # ISO 4217's "no currency" and "testing" codes


def _iso_currency(code: str) -> str:
    if pycountry.currencies.get(alpha_3=code) is None or code in NOT_MONEY:
        raise ValueError(f"{code} is not an ISO 4217 currency code")
    return code


def _exact_amount(value: object) -> object:
    """A JSON number is a binary float: past 13 digits it cannot carry the cents, so such amounts come as text."""
    if isinstance(value, float) and abs(value) >= 1e13:
        raise ValueError('amounts of 10^13 or more must be sent as a string, e.g. "12345678901234.56"')
    return value


def _iso_country(code: str) -> str:
    if pycountry.countries.get(alpha_2=code) is None:
        raise ValueError(f"{code} is not an ISO 3166 country code")
    return code


Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(clean_text)]
"""A name, address line, contact or product model."""
Text = Annotated[str, Field(min_length=1, max_length=500), AfterValidator(clean_text)]
"""A sentence a person or partner wrote."""
OptionalText = Annotated[str, Field(max_length=500), AfterValidator(clean_text)]
LongText = Annotated[str, Field(max_length=2000), AfterValidator(clean_text)]
"""A specification or free-form note."""
Ref = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\s].*$"), AfterValidator(clean_text)]
"""An identifier: an order, work order, shipment, tracking or invoice number."""
MessageId = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(clean_text)]
"""A partner's idempotency key."""
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["USD"]), AfterValidator(_iso_currency)]
Country = Annotated[str, Field(pattern=r"^[A-Z]{2}$", examples=["CN"]), AfterValidator(_iso_country)]
BusinessDate = Annotated[date, AfterValidator(_business_date)]
Timestamp = Annotated[AwareDatetime, AfterValidator(_business_time)]


def _to(exponent: str) -> Callable[[Decimal], Decimal]:
    """Written with exactly that many decimals: `0E-16384` or `1.50000` would not fit a NUMERIC column."""
    return lambda value: value.quantize(Decimal(exponent))


Money = Annotated[
    Decimal, BeforeValidator(_exact_amount), Field(max_digits=18, decimal_places=2, ge=0), AfterValidator(_to("0.01"))
]
PositiveMoney = Annotated[
    Decimal, BeforeValidator(_exact_amount), Field(max_digits=18, decimal_places=2, gt=0), AfterValidator(_to("0.01"))
]
Total = Annotated[Decimal, Field(max_digits=22, decimal_places=2, ge=0), AfterValidator(_to("0.01"))]
"""A sum of amounts (paid in total, say), which may exceed what one amount may be."""
MAX_MONEY = Decimal("9999999999999999.99")
Quantity = Annotated[int, Field(gt=0, le=10_000_000)]
Count = Annotated[int, Field(ge=0, le=2_000_000_000)]
BigCount = Annotated[int, Field(ge=0, le=10**15)]
"""A sum of counts (the pieces of several work orders)."""
Weight = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=3), AfterValidator(_to("0.001"))]
Rate = Annotated[
    Decimal,
    BeforeValidator(_exact_amount),
    Field(gt=0, le=100_000, max_digits=18, decimal_places=8),
    AfterValidator(_to("0.00000001")),
]
"""An exchange rate: home-currency units per unit of another currency."""
