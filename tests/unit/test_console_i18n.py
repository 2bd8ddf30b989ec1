"""The console's labels and formats: both languages complete, every label the pages use is in the catalog, the
language chosen from the switch or the browser, dates and money in the reader's locale."""

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from services.order.console import i18n
from services.order.console.catalog import MESSAGES
from services.order.domain import OrderStatus
from services.order.milestones import Milestone as CustomerMilestone
from services.order.tracking import NEXT_MILESTONE
from shared.contracts import MilestoneName
from shared.kinds import Cause, Role, Severity, Stage

pytestmark = pytest.mark.unit
CONSOLE = Path(i18n.__file__).parent
USED = re.compile(r"""\bt\(\s*['"]([a-z_.]+)['"]""")


def test_both_languages_have_every_label() -> None:
    assert set(MESSAGES["en"]) == set(MESSAGES["zh"])
    assert all(MESSAGES["zh"][key].strip() for key in MESSAGES["zh"])


def test_every_label_the_pages_use_is_in_the_catalog() -> None:
    sources = [*CONSOLE.glob("templates/*.html"), *CONSOLE.glob("*.py")]
    used = {key for path in sources for key in USED.findall(path.read_text()) if not key.endswith(".")}
    assert used, "no label found: the pattern no longer matches the templates"
    assert sorted(used - set(MESSAGES["en"])) == []


@pytest.mark.parametrize(
    ("group", "values"),
    [
        ("status", [s.value for s in OrderStatus]),
        ("severity", [s.value for s in Severity]),
        ("stage", [s.value for s in Stage]),
        ("cause", [c.value for c in Cause]),
        ("role", [r.value for r in Role]),
        ("milestone", [m.value for m in MilestoneName] + list(NEXT_MILESTONE.values())),
        ("customer_milestone", [m.value for m in CustomerMilestone]),
    ],
)
def test_every_code_shown_has_a_label(group: str, values: list[str]) -> None:
    assert [v for v in values if f"{group}.{v}" not in MESSAGES["zh"]] == []


@pytest.mark.parametrize(
    ("cookie", "header", "expected"),
    [
        ("en", "zh-CN,zh;q=0.9", "en"),  # the switch wins
        (None, "en-GB,en;q=0.8", "en"),
        (None, "fr-FR, zh-TW;q=0.5", "zh"),
        (None, None, "zh"),
        ("xx", "de", "zh"),
    ],
)
def test_the_language_comes_from_the_switch_then_the_browser(
    cookie: str | None, header: str | None, expected: str
) -> None:
    assert i18n.choose(cookie, header) == expected


def test_dates_money_and_times_follow_the_locale() -> None:
    en, zh = i18n.formats_for("en"), i18n.formats_for("zh")
    assert en.date(date(2027, 1, 15)) == "15 Jan 2027"
    assert zh.date(date(2027, 1, 15)) == "2027年1月15日"
    assert en.money(Decimal("1234.5"), "USD") == "US$1,234.50"
    assert zh.money(Decimal("1234.5"), "CNY") == "¥1,234.50"
    assert zh.datetime(datetime(2027, 1, 15, 1, 30, tzinfo=UTC)).endswith("09:30")  # shown in China time
    assert en.t("orders.count", n=3) == "3 orders shown" and zh.t("orders.count", n=3) == "显示 3 个订单"
    assert en.term("status", "in_transit") == "In transit" and zh.term("status", "in_transit") == "运输中"
    assert en.term("status", "something_new") == "something new"  # a code from a newer service still reads
