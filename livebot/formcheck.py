"""Check every field of a form and report all problems at once, so a form needs one submit, not one per field."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from livebot.errors import FieldErrors, ValidationError

T = TypeVar("T")


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
