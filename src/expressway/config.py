"""Settings for every Expressway process.

Settings are read when :func:`load_settings` is called, never at import time, so that tests and
the CLI can build as many differently configured apps in one process as they need.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Configuration read from ``EXPRESSWAY_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="EXPRESSWAY_", extra="ignore")

    data_dir: Path = Field(
        default=Path(".expressway"),
        description="Directory for the SQLite databases and the generated secret key.",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description=(
            "Key that encrypts private keys and other secrets at rest. When unset, one is "
            "generated into `{data_dir}/secret.key` on first use and read from there afterwards."
        ),
    )
    tenant_database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the tenant's database; default `sqlite:///{data_dir}/tenant.db`.",
    )
    workforce_database_url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL of the workforce IdP's database; default "
            "`sqlite:///{data_dir}/workforce.db`."
        ),
    )
    tenant_public_url: str = Field(
        default="http://localhost:8401",
        description="Public base URL of the tenant; its issuer is this URL with a trailing slash.",
    )
    workforce_public_url: str = Field(
        default="http://localhost:8402",
        description="Public base URL of the workforce IdP (used for the OIN client's callback).",
    )
    sample_app_public_url: str = Field(
        default="http://localhost:8400",
        description=(
            "Public base URL of the sample app; its callback is `{url}/callback`, its "
            "logout return URL `{url}/` and its back-channel logout URL "
            "`{url}/backchannel-logout`, all to be registered on its client in the tenant."
        ),
    )
    sample_app_client_id: str | None = Field(
        default=None,
        description="client_id of the sample app's regular_web client in the tenant.",
    )
    sample_app_client_secret: SecretStr | None = Field(
        default=None,
        description="client_secret of that client, sent with client_secret_basic.",
    )
    sample_app_audience: str | None = Field(
        default=None,
        description=(
            "API identifier the sample app asks an access token for (its `audience`); when "
            "unset, the access token is only for the tenant's `/userinfo`."
        ),
    )
    tenant_backchannel_logout_worker: bool = Field(
        default=True,
        description=(
            "Whether the tenant process delivers OIDC Back-Channel Logout tokens in the "
            "background; turn it off in all but some replicas, or where something else calls "
            "`deliver_due`."
        ),
    )
    access_token_lifetime: int = Field(
        default=86400,
        description="Default lifetime in seconds of access tokens for APIs that set none.",
    )

    workforce_provisioning_worker: bool = Field(
        default=True,
        description=(
            "Run the workforce IdP's provisioning worker (SCIM pushes and Universal Logout "
            "deliveries) inside its process. Turn it off where another process runs the jobs, "
            "or in tests that run them one by one."
        ),
    )
    workforce_provisioning_max_attempts: int = Field(
        default=8,
        ge=1,
        le=100,
        description=(
            "Attempts a provisioning job gets before it is FAILED; a network error, a 5xx or a "
            "429 from the app is retried with exponential backoff and full jitter until then."
        ),
    )
    workforce_provisioning_poll_seconds: float = Field(
        default=2.0,
        gt=0,
        description=(
            "How often the provisioning worker looks for due jobs when no commit woke it "
            "(jobs made by this process wake it at once)."
        ),
    )

    def resolved_tenant_database_url(self) -> str:
        """The tenant database URL, defaulting to a SQLite file in the data directory."""
        if self.tenant_database_url:
            return self.tenant_database_url
        return f"sqlite:///{(self.data_dir / 'tenant.db').resolve()}"

    def resolved_workforce_database_url(self) -> str:
        """The workforce database URL, defaulting to a SQLite file in the data directory."""
        if self.workforce_database_url:
            return self.workforce_database_url
        return f"sqlite:///{(self.data_dir / 'workforce.db').resolve()}"

    def resolved_secret_key(self) -> str:
        """The at-rest encryption key: from the environment, else from (or into) the data dir."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        path = self.data_dir / "secret.key"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(32)
        # O_EXCL: if two processes race on first start, only one key is ever written.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text().strip()
        with os.fdopen(fd, "w") as handle:
            handle.write(key + "\n")
        return key

    @property
    def tenant_issuer(self) -> str:
        """The tenant's issuer identifier, which ends with a slash as Auth0's does."""
        return self.tenant_public_url.rstrip("/") + "/"

    @property
    def management_audience(self) -> str:
        """The audience of the tenant's Management API."""
        return self.tenant_issuer + "api/v2/"


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, with explicit overrides taking precedence."""
    return Settings(**overrides)  # type: ignore[arg-type]
