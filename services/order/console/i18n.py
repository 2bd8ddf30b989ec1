"""Which language a request is served in, its labels, and dates and money in that locale (Babel)."""

import datetime as dt
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_timedelta
from babel.numbers import format_currency, format_decimal

from services.order.console.catalog import MESSAGES

LANGUAGES = {"en": "en_GB", "zh": "zh_Hans_CN"}  # our language codes and the Babel locale of each
DEFAULT = "zh"  # the seeds and most users are Chinese
COOKIE = "gendan_lang"
TIMEZONE = "Asia/Shanghai"  # times are shown in the factory's zone
ZONE = ZoneInfo(TIMEZONE)


def choose(cookie: str | None, accept_language: str | None) -> str:
    """The language: the one chosen with the switch (cookie), else the browser's first we speak, else Chinese."""
    if cookie in LANGUAGES:
        return cookie
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag[:2] in LANGUAGES:
            return tag[:2]
    return DEFAULT


def translate(lang: str, key: str, **values: Any) -> str:
    """The label for `key` in the language (English, then the key itself, when missing)."""
    text = MESSAGES[lang].get(key) or MESSAGES["en"].get(key) or key.replace("_", " ")
    return text.format(**values) if values else text


@dataclass(frozen=True)
class Formats:
    """Labels and formats of one language, as the templates use them."""

    lang: str

    @property
    def locale(self) -> Locale:
        return Locale.parse(LANGUAGES[self.lang])

    @property
    def html_lang(self) -> str:
        return "zh-CN" if self.lang == "zh" else "en"

    def t(self, key: str, **values: Any) -> str:
        return translate(self.lang, key, **values)

    def term(self, group: str, value: object) -> str:
        """A code (a status, a severity, a milestone) as a label: `group.value` in the catalog."""
        if value is None or value == "":
            return "—"
        found = MESSAGES[self.lang].get(f"{group}.{value}") or MESSAGES["en"].get(f"{group}.{value}")
        return found or str(value).replace("_", " ")

    def date(self, value: date | str | None) -> str:
        if not value:
            return "—"
        day = date.fromisoformat(value[:10]) if isinstance(value, str) else value
        return format_date(day, "medium", locale=self.locale)

    def datetime(self, value: dt.datetime | str | None) -> str:
        if not value:
            return "—"
        moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
        return format_datetime(moment, "short", tzinfo=ZONE, locale=self.locale)

    def money(self, amount: Decimal | str | float | None, currency: str | None) -> str:
        if amount is None or amount == "":
            return "—"
        try:
            number = Decimal(str(amount))
        except InvalidOperation:
            return str(amount)
        if not currency:
            return format_decimal(number, locale=self.locale)
        return format_currency(number, currency, locale=self.locale)

    def number(self, value: float | int | None, digits: int = 1) -> str:
        if value is None:
            return "—"
        return format_decimal(round(value, digits), locale=self.locale)

    def age(self, since: dt.datetime, now: dt.datetime) -> str:
        return format_timedelta(now - since, granularity="minute", threshold=1.5, locale=self.locale)

    def messages(self, prefix: str) -> dict[str, str]:
        """Every label under a prefix, for the browser (chart labels)."""
        english = {k: v for k, v in MESSAGES["en"].items() if k.startswith(prefix)}
        return english | {k: v for k, v in MESSAGES[self.lang].items() if k.startswith(prefix)}


def formats_for(lang: str) -> Formats:
    return Formats(lang if lang in LANGUAGES else DEFAULT)
