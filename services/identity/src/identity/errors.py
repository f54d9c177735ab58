"""Identity's domain errors."""

from __future__ import annotations

from mercato_shared.errors import AppError, BadRequestError, ConflictError, UnauthorizedError


class EmailTakenError(ConflictError):
    code = "email_taken"

    def __init__(self) -> None:
        super().__init__("An account with this email already exists.")


class InvalidCredentialsError(UnauthorizedError):
    code = "invalid_credentials"

    def __init__(self, message: str = "The email or password is wrong.") -> None:
        super().__init__(message, headers={"WWW-Authenticate": "Bearer"})


class InvalidGrantError(UnauthorizedError):
    code = "invalid_grant"

    def __init__(self) -> None:
        super().__init__(
            "The refresh token is invalid, expired or revoked.",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )


class UnsupportedGrantTypeError(BadRequestError):
    code = "unsupported_grant_type"

    def __init__(self) -> None:
        super().__init__(
            "grant_type must be password, refresh_token or client_credentials, "
            "with the fields that grant needs."
        )


class LoginThrottledError(AppError):
    """Too many failed logins for this account recently: 429 with `Retry-After`."""

    status_code = 429
    code = "login_throttled"

    def __init__(self, *, retry_after: int) -> None:
        super().__init__(
            "Too many failed logins for this account; retry later.",
            headers={"Retry-After": str(retry_after)},
        )


class PasswordQueueFullError(AppError):
    """This client already has as many password checks waiting as it may."""

    status_code = 429
    code = "rate_limited"

    def __init__(self) -> None:
        super().__init__(
            "Too many logins from this address at once; retry later.",
            headers={"Retry-After": "1"},
        )


class WeakPasswordError(ConflictError):
    """A 409, as the password conflicts with the lists of known passwords as they are
    (docs/decisions/0022-logins-throttled-per-account.md)."""

    code = "weak_password"
