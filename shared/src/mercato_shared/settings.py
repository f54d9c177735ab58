"""Settings shared by every Mercato process, read from the environment (and `.env`)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, PositiveFloat, PositiveInt, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from mercato_shared.dev_keys import DEV_JWT_PUBLIC_KEY

Environment = Literal["development", "test", "production"]


class BaseServiceSettings(BaseSettings):
    """Base for each service's settings class.

    Subclasses set the class constants `service_name` and `database_name` (and extend
    `development_defaults`); every field is an environment variable of the same name in upper
    case, documented in `.env.example`.
    """

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    service_name: ClassVar[str] = "mercato"
    database_name: ClassVar[str | None] = None
    # Fields whose default is public (it is in this repository): ENVIRONMENT=production
    # refuses each one left at its default. Subclasses extend the tuple.
    development_defaults: ClassVar[tuple[str, ...]] = ("jwt_public_key",)

    environment: Environment = "development"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    postgres_url: str = Field(
        default="postgresql+asyncpg://postgres@127.0.0.1:5432",
        description="Postgres server URL without a database; each service appends its own.",
    )
    database_prefix: str = Field(default="", pattern=r"^[a-z0-9_]{0,20}$")
    db_pool_size: PositiveInt = 10
    db_max_overflow: int = Field(default=0, ge=0)
    db_pool_timeout: PositiveFloat = 5.0
    db_connect_timeout: PositiveFloat = 5.0
    db_statement_timeout_ms: PositiveInt = 5_000
    # TLS to Postgres: `auto` is off for a server on this host, asyncpg's `prefer` otherwise.
    db_ssl: Literal["auto", "disable", "prefer", "require", "verify-ca", "verify-full"] = "auto"

    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_timeout: PositiveFloat = 0.25
    # A failed Redis command reconnects and is tried again this many times (with backoff).
    redis_retries: int = Field(default=2, ge=0, le=10)
    cache_ttl_seconds: PositiveInt = 300

    http_timeout: PositiveFloat = 5.0
    # The deadline for a whole request body (mercato_shared.body_deadline): 408 after it.
    request_body_timeout_seconds: PositiveFloat = 15.0
    http_connect_timeout: PositiveFloat = 1.0

    # Edge requests one process works on at once, and how long the next ones may wait for a
    # slot before a 503 `overloaded` (mercato_shared.admission); a limit of 0 turns it off.
    admission_limit: int = Field(default=16, ge=0, le=10_000)
    admission_queue_ms: int = Field(default=100, ge=0, le=60_000)

    # Seconds a SIGTERM drains the process before the server shuts down (mercato_shared.drain);
    # the native stack sets it for each replica when it runs more than one.
    shutdown_drain_seconds: float = Field(default=0.0, ge=0, le=30)

    # Applied once the process has started (mercato_shared.gc_tuning); 0 keeps Python's 700.
    gc_gen0_threshold: int = Field(default=10_000, ge=0, le=1_000_000)

    # Access tokens are verified locally by every service (mercato_shared.auth).
    jwt_public_key: str = Field(
        default=DEV_JWT_PUBLIC_KEY,
        description="PEM Ed25519 public key of identity's signing key ('\\n' escapes allowed).",
    )
    jwt_issuer: str = "mercato-identity"
    jwt_audience: str = "mercato"
    jwt_leeway_seconds: float = Field(default=10.0, ge=0, le=300)

    @field_validator("postgres_url")
    @classmethod
    def _no_database_in_server_url(cls, value: str) -> str:
        if not value.startswith("postgresql+asyncpg://"):
            msg = "POSTGRES_URL must use the postgresql+asyncpg:// scheme"
            raise ValueError(msg)
        return value.rstrip("/")

    @field_validator("jwt_public_key")
    @classmethod
    def _pem_newlines(cls, value: str) -> str:
        return value.replace("\\n", "\n").strip() + "\n"

    @model_validator(mode="after")
    def _no_development_defaults_in_production(self) -> BaseServiceSettings:
        """Refuse, in production, every field of `development_defaults` left at its default."""
        if self.environment != "production":
            return self
        fields = type(self).model_fields
        for name in self.development_defaults:
            if getattr(self, name) == fields[name].default:
                what = name.rsplit("_", 1)[-1]  # key, secret, password
                msg = f"{name.upper()} is the development {what}; set a real one"
                raise ValueError(msg)
        return self

    @property
    def database_url(self) -> str:
        if self.database_name is None:
            msg = f"{self.service_name} has no database"
            raise RuntimeError(msg)
        return f"{self.postgres_url}/{self.database_prefix}{self.database_name}"
