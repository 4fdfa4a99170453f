"""The GS1 Core Business Vocabulary (CBV 2.0) business steps and dispositions.

EPCIS JSON allows three spellings of the same term: the bare name (``receiving``), the URN
(``urn:epcglobal:cbv:bizstep:receiving``) and the Web URI
(``https://ref.gs1.org/cbv/BizStep-receiving``, compacted as ``cbv:BizStep-receiving``).
The official JSON schema accepts any string, so livebot checks the name itself: a term in a
GS1 namespace or a bare word must be in the list; another absolute URI is a user vocabulary.
"""

from __future__ import annotations

BIZ_STEPS = frozenset(
    """accepting arriving assembling collecting commissioning consigning creating_class_instance cycle_counting
    decommissioning departing destroying disassembling dispensing encoding entering_exiting holding inspecting
    installing killing loading other packing picking receiving removing repackaging repairing replacing reserving
    retail_selling sampling sensor_reporting shipping staging_outbound stock_taking stocking storing transporting
    unloading unpacking void_shipping""".split()
)
DISPOSITIONS = frozenset(
    """active available completeness_inferred completeness_verified conformant container_closed container_open
    damaged destroyed dispensed disposed encoded expired in_progress in_transit inactive mismatch_class
    mismatch_instance mismatch_quantity needs_replacement no_pedigree_match non_conformant non_sellable_other
    partially_dispensed recalled reserved retail_sold returned sellable_accessible sellable_not_accessible stolen
    unavailable unknown""".split()
)
_GS1_NAMESPACES = ("urn:epcglobal:", "https://ref.gs1.org/", "http://ref.gs1.org/", "https://gs1.org/", "cbv:", "gs1:")


class UnknownTerm(ValueError):
    """A business step or disposition that is not in the CBV."""


def _term(value: str, known: frozenset[str], urn: str, web: str) -> str:
    for prefix in (urn, f"https://ref.gs1.org/cbv/{web}-", f"http://ref.gs1.org/cbv/{web}-", f"cbv:{web}-"):
        if value[: len(prefix)].lower() == prefix.lower():  # GS1's own examples write "Bizstep-"
            name = value[len(prefix):]
            if name in known:
                return name
            raise UnknownTerm(f"{name!r} is not a CBV term")
    if value in known:
        return value
    if value.startswith(_GS1_NAMESPACES) or ":" not in value:
        raise UnknownTerm(f"{value!r} is not a CBV term")
    return value


def biz_step(value: str) -> str:
    """The CBV short name (``receiving``) of any spelling, or a user-vocabulary URI unchanged."""
    return _term(value, BIZ_STEPS, "urn:epcglobal:cbv:bizstep:", "BizStep")


def disposition(value: str) -> str:
    """The CBV short name (``in_transit``) of any spelling, or a user-vocabulary URI unchanged."""
    return _term(value, DISPOSITIONS, "urn:epcglobal:cbv:disp:", "Disp")
