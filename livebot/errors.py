"""One exception tree for livebot; the web layer alone turns these into HTTP statuses."""


class LivebotError(Exception):
    """Root of every error livebot raises on purpose."""


class ConfigError(LivebotError):
    """A configuration value is missing or wrong; the message names the dotted key."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


class StorageError(LivebotError):
    """The database could not be reached or migrated."""


class BusError(LivebotError):
    """The message bus could not be reached."""


class AuthError(LivebotError):
    """Authentication or authorisation failed."""


class ValidationError(LivebotError):
    """Client input is invalid; ``field`` names the offending field."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class FieldErrors(ValidationError):
    """Several fields are invalid at once; ``errors`` maps each field to its problem (forms show them all)."""

    def __init__(self, errors: dict[str, str]) -> None:
        field, problem = next(iter(errors.items()))
        super().__init__(field, problem if len(errors) == 1 else f"{problem}（另有 {len(errors) - 1} 项需要修改）")
        self.errors = errors


class NotFoundError(LivebotError):
    """The thing asked for does not exist."""


class ConflictError(LivebotError):
    """The request conflicts with the current state (already claimed, stale version ...)."""


class FieldConflict(ConflictError):
    """A 409 caused by one field's value (a slug already taken); ``field`` names it for the form."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class NeedsConfirmation(ConflictError):
    """A 409 a person may override: ``confirm`` names the body flag that says they meant it."""

    def __init__(self, message: str, field: str, confirm: str) -> None:
        super().__init__(message)
        self.field = field
        self.confirm = confirm


class PayloadTooLarge(LivebotError):
    """The request body is larger than the endpoint accepts."""
