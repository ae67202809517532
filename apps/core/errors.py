"""Domain errors raised by services; the API, admin and UI turn them into messages."""


class DomainError(Exception):
    """A refused operation. ``errors`` maps a field name to its human messages."""

    status_code = 400

    def __init__(self, message: str, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}

    def as_dict(self) -> dict[str, list[str]]:
        return self.errors or {"non_field_errors": [self.message]}


class ValidationFailed(DomainError):
    status_code = 400


class Conflict(DomainError):
    """The object changed under the caller (a concurrent write won)."""

    status_code = 409


class NotPermitted(DomainError):
    status_code = 403


class Gone(DomainError):
    """What the caller acts on is closed for good (an expired link)."""

    status_code = 410
