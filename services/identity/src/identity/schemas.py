"""Identity request and response bodies, with strict input limits."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from email_validator import SPECIAL_USE_DOMAIN_NAMES
from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, field_validator

from mercato_shared.json_types import NO_NUL

Password = Annotated[str, StringConstraints(min_length=8, max_length=128)]
DisplayName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=NO_NUL)
]


def _any_case(word: str) -> str:
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in word)


#: What EmailStr (email-validator) requires beyond `format: email`, for the schema to say: a
#: domain of two labels or more whose last one is no special-use name (`.test`, `.local`, ...).
#: The schema carries it; EmailStr itself does the refusing.
EMAIL_PATTERN = (
    r"^[^@]+@[^@]*\.(?!(?:"
    + "|".join(_any_case(name) for name in sorted(SPECIAL_USE_DOMAIN_NAMES))
    + r")$)[^.@]+$"
)


def normalize_email(email: str) -> str:
    """One account per address whatever its case: stored trimmed and in lower case."""
    return email.strip().lower()


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Annotated[EmailStr, Field(max_length=254, json_schema_extra={"pattern": EMAIL_PATTERN})]
    password: Annotated[
        Password,
        Field(
            description="Refused (409 `weak_password`) when common or made of the e-mail.",
            examples=["correct horse battery staple"],
        ),
    ]
    display_name: DisplayName

    @field_validator("email")
    @classmethod
    def _normalize(cls, value: str) -> str:
        return normalize_email(value)


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    display_name: str
    role: Literal["customer", "admin"]
    created_at: datetime


class TokenResponse(BaseModel):
    """OAuth2 token response (RFC 6749 section 5.1)."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type
    expires_in: int = Field(description="Seconds until the access token expires.")
    refresh_token: str | None = Field(
        default=None, description="Opaque; rotated on every use. None for machine clients."
    )


class Jwk(BaseModel):
    """The Ed25519 public key that verifies access tokens (RFC 8037)."""

    kty: Literal["OKP"]
    crv: Literal["Ed25519"]
    x: str = Field(description="The public key, base64url without padding.")
    alg: Literal["EdDSA"]
    use: Literal["sig"]


class JwkSet(BaseModel):
    keys: list[Jwk]
