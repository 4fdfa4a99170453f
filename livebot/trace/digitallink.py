"""GS1 identifiers: GTIN check digits, lots, LGTIN URNs and Digital Link URIs.

A Digital Link is ``https://<resolver>/01/{GTIN-14}[/22/{cpv}][/10/{lot}][/21/{serial}]``
with data attributes such as expiry (``?17=YYMMDD``) in the query; lots are up to 20
characters of the GS1 AI "82" character set, percent-encoded in the path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, quote, unquote, urlsplit

from livebot.trace.errors import BadCode

LOT_PATTERN = re.compile(r"[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,20}")
"""GS1 AI (10): 1..20 characters of the AI encodable character set 82."""
_DIGITS = re.compile(r"[0-9]+")
_LGTIN = re.compile(r"urn:epc:class:lgtin:([0-9]{6,12})\.([0-9]{1,7})\.(.+)")
_SGTIN_PATTERN = re.compile(r"urn:epc:idpat:sgtin:([0-9]{6,12})\.([0-9]{1,7})\.\*")
_DL_PATH = re.compile(r"(?:^|/)01/([0-9]{8,14})((?:/(?:22|10|21|235)/[^/]+)*)/?$")


@dataclass(frozen=True, slots=True)
class DigitalLink:
    """The identifiers of a GS1 Digital Link URI."""

    gtin: str
    lot: str | None = None
    serial: str | None = None
    expiry: str | None = None

    @property
    def path(self) -> str:
        """The resolver path ``/01/{gtin}[/10/{lot}]`` with the lot percent-encoded."""
        return digital_link_path(self.gtin, self.lot)


def check_digit(body: str) -> int:
    """The GS1 mod-10 check digit for ``body`` (the digits without the check digit)."""
    if not body.isascii() or not body.isdigit():
        raise BadCode("gtin", "must be digits")
    total = sum(int(digit) * (3 if position % 2 == 0 else 1) for position, digit in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def with_check_digit(body: str) -> str:
    """``body`` followed by its check digit (``0690123454321`` -> ``06901234543216``)."""
    return body + str(check_digit(body))


def gtin14(value: str, field: str = "gtin") -> str:
    """A GTIN-8/12/13/14 as GTIN-14, or :class:`BadCode` naming ``field`` (malformed or wrong check digit)."""
    if not isinstance(value, str) or not value.isascii() or not value.isdigit() or len(value) not in (8, 12, 13, 14):
        raise BadCode(field, "GTIN must be 8, 12, 13 or 14 digits")
    if check_digit(value[:-1]) != int(value[-1]):
        raise BadCode(field, f"wrong GTIN check digit (expected {check_digit(value[:-1])})")
    return value.zfill(14)


def valid_lot(value: str, field: str = "lot") -> str:
    """``value`` if it is a GS1 lot (1..20 characters of set 82), else :class:`BadCode`."""
    if not isinstance(value, str) or not LOT_PATTERN.fullmatch(value):
        raise BadCode(field, "lot must be 1..20 characters: letters, digits and !\"%&'()*+,-./:;<=>?_")
    return value


def digital_link_path(gtin: str, lot: str | None = None) -> str:
    """The resolver path for a GTIN and optional lot."""
    path = f"/01/{gtin}"
    return f"{path}/10/{quote(lot, safe='')}" if lot else path


def parse_digital_link(uri: str, field: str = "uri") -> DigitalLink:
    """Read a Digital Link URI (absolute or just its path); GTIN check digit verified."""
    if not isinstance(uri, str) or len(uri) > 2048:
        raise BadCode(field, "not a GS1 Digital Link")
    parts = urlsplit(uri.strip())
    match = _DL_PATH.search(parts.path)
    if match is None:
        raise BadCode(field, "not a GS1 Digital Link (expected /01/{gtin}[/10/{lot}])")
    gtin = gtin14(match.group(1), field)
    qualifiers: dict[str, str] = {}
    segments = [s for s in match.group(2).split("/") if s]
    for key, value in zip(segments[::2], segments[1::2], strict=True):
        qualifiers[key] = unquote(value)
    lot = valid_lot(qualifiers["10"], field) if "10" in qualifiers else None
    serial = qualifiers.get("21")
    expiry = parse_qs(parts.query).get("17", [None])[0]
    if expiry is not None and not re.fullmatch(r"[0-9]{6}", expiry):
        raise BadCode(field, "expiry (17) must be YYMMDD")
    return DigitalLink(gtin=gtin, lot=lot, serial=serial, expiry=expiry)


def lgtin_gtin(company_prefix: str, indicator_item: str) -> str:
    """GTIN-14 from the two numeric parts of an EPC class URN (indicator digit first)."""
    if len(company_prefix) + len(indicator_item) != 13:
        raise BadCode("epcClass", "company prefix and item reference must have 13 digits together")
    return with_check_digit(indicator_item[0] + company_prefix + indicator_item[1:])


def parse_epc_class(value: str, field: str = "epcClass") -> tuple[str, str | None]:
    """``(gtin14, lot)`` of an LGTIN URN, an SGTIN class pattern (lot None) or a Digital Link."""
    if not isinstance(value, str) or not value or len(value) > 512:
        raise BadCode(field, "must be a non-empty EPC class URI")
    match = _LGTIN.fullmatch(value)
    if match:
        lot = valid_lot(unquote(match.group(3)), field)
        return lgtin_gtin(match.group(1), match.group(2)), lot
    match = _SGTIN_PATTERN.fullmatch(value)
    if match:
        return lgtin_gtin(match.group(1), match.group(2)), None
    if value.startswith(("http://", "https://")):
        link = parse_digital_link(value, field)
        return link.gtin, link.lot
    raise BadCode(field, "expected urn:epc:class:lgtin:<company prefix>.<indicator+item ref>.<lot> or a GS1 Digital Link")


def lgtin_urn(gtin: str, lot: str, company_prefix_digits: int = 7) -> str:
    """The LGTIN URN for a GTIN-14 and lot (used to build documents in the demo and bench)."""
    body = gtin[:-1]
    indicator, rest = body[0], body[1:]
    prefix, item = rest[:company_prefix_digits], rest[company_prefix_digits:]
    return f"urn:epc:class:lgtin:{prefix}.{indicator}{item}.{quote(lot, safe='')}"
