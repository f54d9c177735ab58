"""Identity's domain errors."""

from __future__ import annotations

from mercato_shared.errors import BadRequestError, ConflictError, UnauthorizedError


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
