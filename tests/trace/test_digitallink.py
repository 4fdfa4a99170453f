"""GS1 identifiers: check digits, Digital Link URIs and LGTIN URNs."""

from __future__ import annotations

import pytest

from livebot.trace.digitallink import (
    check_digit,
    digital_link_path,
    gtin14,
    lgtin_urn,
    parse_digital_link,
    parse_epc_class,
    valid_lot,
    with_check_digit,
)
from livebot.trace.errors import BadCode


def test_gs1_vector_check_digit() -> None:
    assert check_digit("0690123454321") == 6
    assert with_check_digit("0690123454321") == "06901234543216"


@pytest.mark.parametrize("gtin", ["06901234543216", "6901234543216", "96385074", "036000291452"])
def test_valid_gtins_become_gtin14(gtin: str) -> None:
    assert gtin14(gtin) == gtin.zfill(14)


@pytest.mark.parametrize("gtin", ["06901234543217", "06901234543210"])
def test_wrong_check_digit_is_named(gtin: str) -> None:
    with pytest.raises(BadCode, match="check digit") as err:
        gtin14(gtin)
    assert err.value.field == "gtin"


@pytest.mark.parametrize("gtin", ["", "0690123454321a", "123", "０６９０１２３４５４３２１６", "069012345432160", "<script>"])
def test_malformed_gtins(gtin: str) -> None:
    with pytest.raises(BadCode, match="digits"):
        gtin14(gtin)


def test_digital_link_with_lot_serial_and_expiry() -> None:
    link = parse_digital_link("https://id.example.cn/01/06901234543216/10/QH20261124A01/21/0001?17=281124")
    assert (link.gtin, link.lot, link.serial, link.expiry) == ("06901234543216", "QH20261124A01", "0001", "281124")
    assert link.path == "/01/06901234543216/10/QH20261124A01"


def test_digital_link_lot_is_percent_decoded_and_path_encodes_it() -> None:
    link = parse_digital_link("/01/06901234543216/10/AB%2F1%25")
    assert link.lot == "AB/1%"
    assert digital_link_path(link.gtin, link.lot) == "/01/06901234543216/10/AB%2F1%25"


@pytest.mark.parametrize("uri", [
    "https://x/02/06901234543216/10/A1", "https://x/01/06901234543217/10/A1", "https://x/01/06901234543216/10/" + "A" * 21,
    "https://x/01/06901234543216/10/批次", "https://x/01/06901234543216?17=2811", "x" * 3000,
])
def test_bad_digital_links(uri: str) -> None:
    with pytest.raises(BadCode):
        parse_digital_link(uri)


def test_lgtin_round_trip_and_class_patterns() -> None:
    urn = lgtin_urn("06901234543216", "QH20261124A01")
    assert urn == "urn:epc:class:lgtin:6901234.054321.QH20261124A01"
    assert parse_epc_class(urn) == ("06901234543216", "QH20261124A01")
    assert parse_epc_class("urn:epc:idpat:sgtin:6901234.054321.*") == ("06901234543216", None)
    assert parse_epc_class("https://id.gs1.org/01/06901234543216/10/X9") == ("06901234543216", "X9")


@pytest.mark.parametrize("value", ["urn:epc:class:lgtin:6901234.54321.A1", "urn:epc:id:sgtin:6901234.054321.1", "lot-A1", ""])
def test_bad_epc_classes(value: str) -> None:
    with pytest.raises(BadCode):
        parse_epc_class(value)


@pytest.mark.parametrize("lot", ["QH20261124A01", "a-b_c.d/1", "!%&'()*+,-./:;<=>?_"])
def test_gs1_lot_characters(lot: str) -> None:
    assert valid_lot(lot) == lot


@pytest.mark.parametrize("lot", ["", "A" * 21, "批次1", "A B", "A\u202eB", "A😀"])
def test_lots_outside_set_82_are_rejected(lot: str) -> None:
    with pytest.raises(BadCode):
        valid_lot(lot)
