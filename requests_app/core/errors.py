"""Domain errors. Views turn them into 400/404/409 answers; they never become a 500."""

from __future__ import annotations


class DomainError(Exception):
    """Base class: the message is safe to show to the caller."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class IllegalTransition(DomainError):
    """The request's current status does not allow this action."""


class Changed(IllegalTransition):
    """What the action is about changed since it was shown to this person (an approval of a
    response that was changed after the approver opened it): look again."""


class NotPermitted(DomainError):
    """This person may not take this action (their role, or the two-person rule)."""


class Busy(IllegalTransition):
    """Someone else changed the request at the same moment, twice running: try again."""


class RuleViolation(DomainError):
    """The action is allowed in this status but breaks a rule (a missing reason, a deadline)."""


class TokenInvalid(DomainError):
    """A link token is unknown, expired, already used or revoked."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason
