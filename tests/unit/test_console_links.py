"""Customer tracking links: signed, read-only, expiring; a tampered, foreign or expired link is refused."""

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from services.order.console import links
from services.order.console.settings import ConsoleSettings

pytestmark = pytest.mark.unit
NOW = datetime(2027, 3, 1, 8, tzinfo=UTC)
SECRET = "a-secret-for-tests"


def test_a_link_names_its_order_until_it_expires() -> None:
    token = links.sign("SO1", NOW + timedelta(days=30), secret=SECRET)
    assert links.verify(token, secret=SECRET, now=NOW) == ("SO1", NOW + timedelta(days=30))
    with pytest.raises(links.LinkRefused, match="expired"):
        links.verify(token, secret=SECRET, now=NOW + timedelta(days=30))


@pytest.mark.parametrize(
    "change",
    [
        lambda t: t[:-6] + ("A" if t[-6] != "A" else "B") + t[-5:],  # the signature
        lambda t: t.replace(t.split(".")[0], links.sign("SO2", NOW + timedelta(days=1), secret=SECRET).split(".")[0]),
        lambda t: "not-a-token-at-all",
    ],
)
def test_a_changed_link_is_refused(change: object) -> None:
    token = links.sign("SO1", NOW + timedelta(days=30), secret=SECRET)
    with pytest.raises(links.LinkRefused):
        links.verify(change(token), secret=SECRET, now=NOW)  # type: ignore[operator]


def test_a_link_signed_with_another_key_is_refused() -> None:
    token = links.sign("SO1", NOW + timedelta(days=30), secret="another")
    with pytest.raises(links.LinkRefused):
        links.verify(token, secret=SECRET, now=NOW)


def test_production_needs_its_own_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENDAN_ENV", "production")
    with pytest.raises(ValidationError, match="TRACKING_LINK_SECRET"):
        ConsoleSettings()
    monkeypatch.setenv("TRACKING_LINK_SECRET", "set-by-the-operator")
    assert ConsoleSettings().tracking_link_secret.get_secret_value() == "set-by-the-operator"
