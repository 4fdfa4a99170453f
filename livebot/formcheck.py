"""Check every field of a form and report all problems at once, so a form needs one submit, not one per field."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from livebot.errors import FieldErrors, ValidationError

T = TypeVar("T")


FLAG_TRUE = ("1", "true", "yes")
FLAG_FALSE = ("", "0", "false", "no")


def query_flag(query: Mapping[str, str], name: str) -> bool:
    """A yes/no query parameter (any case); anything but 1/true/yes, 0/false/no or empty is a 400 naming it."""
    value = query.get(name, "").lower()
    if value in FLAG_TRUE:
        return True
    if value in FLAG_FALSE:
        return False
    raise ValidationError(name, "应为 1/true/yes 或 0/false/no")


class Fields:
    """Check every field of a form and report all problems at once (:class:`FieldErrors`).

    ``take(parse, fallback)`` runs one check and keeps its problem; ``done()`` raises when any failed.
    """

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def take(self, parse: Callable[[], T], fallback: T) -> T:
        try:
            return parse()
        except FieldErrors as err:
            for field, problem in err.errors.items():
                self.errors.setdefault(field, problem)
        except ValidationError as err:
            self.errors.setdefault(err.field, err.problem)
        return fallback

    def done(self, kind: type[FieldErrors] = FieldErrors) -> None:
        """Raise ``kind`` (a :class:`FieldErrors`) naming every failed field, if any failed."""
        if self.errors:
            raise kind(self.errors)
