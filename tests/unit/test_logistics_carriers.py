"""Carrier status codes as data: every carrier's file maps its real codes to the one normalised set."""

import pytest

from services.logistics import carriers
from services.logistics.settings import SEED, load_code_maps
from shared.contracts import CarrierException, CarrierStatus

pytestmark = pytest.mark.unit
MAPS = load_code_maps(SEED / "carriers")


def test_at_least_three_real_carriers_are_mapped_sea_included() -> None:
    assert {"sf-express", "dhl-express", "ups", "cosco", "maersk"} <= set(MAPS)


@pytest.mark.parametrize(
    ("carrier", "code", "status", "reason"),
    [
        ("sf-express", "50", CarrierStatus.PICKED_UP, None),
        ("sf-express", "80", CarrierStatus.DELIVERED, None),
        ("sf-express", "649", CarrierStatus.EXCEPTION, CarrierException.DAMAGE),
        ("sf-express", "605", CarrierStatus.CUSTOMS, None),
        ("dhl-express", "WC", CarrierStatus.OUT_FOR_DELIVERY, None),
        ("dhl-express", "ok", CarrierStatus.DELIVERED, None),  # codes compare case-insensitively
        ("dhl-express", "NH", CarrierStatus.EXCEPTION, CarrierException.FAILED_DELIVERY),
        ("dhl-express", "TD", CarrierStatus.EXCEPTION, CarrierException.DELAY),
        ("ups", "P", CarrierStatus.PICKED_UP, None),
        ("ups", "X", CarrierStatus.EXCEPTION, CarrierException.OTHER),
        ("ups", "X:LS", CarrierStatus.EXCEPTION, CarrierException.LOSS),
        ("cosco", "LOAD", CarrierStatus.IN_TRANSIT, None),
        ("cosco", "INSP", CarrierStatus.CUSTOMS, None),
        ("maersk", "RMVD", CarrierStatus.EXCEPTION, CarrierException.DELAY),
    ],
)
def test_a_carrier_code_means_one_normalised_status(
    carrier: str, code: str, status: CarrierStatus, reason: CarrierException | None
) -> None:
    found = MAPS[carrier].normalise(code)
    assert found is not None and (found.status, found.reason) == (status, reason)


def test_every_mapped_code_lands_in_the_normalised_set_and_every_exception_has_a_reason() -> None:
    for code_map in MAPS.values():
        for code, normal in code_map.codes.items():
            assert normal.status in CarrierStatus, (code_map.carrier, code)
            assert (normal.reason is not None) == (normal.status == CarrierStatus.EXCEPTION), (code_map.carrier, code)
            assert normal.meaning, (code_map.carrier, code)


def test_an_unknown_code_is_not_guessed_but_gendans_own_names_are_understood() -> None:
    assert MAPS["ups"].normalise("ZZ") is None
    own = carriers.unmapped("deppon").normalise("in_transit")
    assert own is not None and own.status == CarrierStatus.IN_TRANSIT
    exc = carriers.unmapped("deppon").normalise("exception")
    assert exc is not None and exc.reason == CarrierException.OTHER
