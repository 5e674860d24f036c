"""Settings for every Expressway process.

Settings are read when :func:`load_settings` is called, never at import time, so that tests and
the CLI can build as many differently configured apps in one process as they need.
"""

from __future__ import annotations

import functools
import os
import secrets
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from expressway.sealing import Sealer
from expressway.web.throttling import IPNetwork, parse_networks

#: The OWASP Password Storage Cheat Sheet's Argon2id configurations (memory in KiB, passes, one
#: lane), each as strong as the others against offline guessing; the password hash settings must
#: reach one of them
#: (https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html#argon2id).
OWASP_ARGON2ID_MINIMUMS = ((47_104, 1), (19_456, 2), (12_288, 3), (9_216, 4), (7_168, 5))


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
    secret_key_fallbacks: SecretStr | None = Field(
        default=None,
        description=(
            "Secret keys that `secret_key` replaced, separated by commas: what they sealed is "
            "still read, and nothing new is sealed under them. Keep them until `expressway tenant "
            "reseal` and `expressway workforce reseal` have moved every stored value to the "
            "current key."
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

    password_hash_memory_kib: int = Field(
        default=7_168,
        ge=7_168,
        le=4 * 1024 * 1024,
        description=(
            "Memory of one Argon2id password hash, in KiB. The default with the pass count below "
            "(7 MiB, 5 passes) is a row of the OWASP Password Storage Cheat Sheet's configuration "
            "and Keycloak's default; any of its equivalent rows (46 MiB and 1 pass, 19 MiB and 2, "
            "12 MiB and 3, 9 MiB and 4) or a stronger choice is accepted, nothing weaker. Stored "
            "hashes keep their own parameters and take these at their user's next successful "
            "sign-in."
        ),
    )
    password_hash_time_cost: int = Field(
        default=5,
        ge=1,
        le=100,
        description="Passes of one Argon2id password hash over its memory.",
    )
    password_hash_parallelism: int = Field(
        default=1,
        ge=1,
        le=64,
        description=(
            "Lanes of one Argon2id password hash, each filled by a thread of its own (RFC 9106 "
            "section 4: as many lanes as threads a hash may use). The memory and passes are the "
            "same whatever the lanes. One lane is OWASP's row and Keycloak's default, and the "
            "least CPU a sign-in: two lanes cost a third more (the threads' starts and joins, "
            "and two cores sharing the memory's bandwidth), and shorten a sign-in's wait for its "
            "hash only where a second core is idle and truly runs beside the first."
        ),
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
    workforce_provisioning_concurrency: int = Field(
        default=4,
        ge=1,
        le=64,
        description=(
            "Jobs the provisioning worker runs at once, each of a different subject (one "
            "person's or group's jobs always run one after another, in the order they were "
            "queued). While one job waits for the app's answer, others do their own work; the "
            "app's rate limits bound what more gives."
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

    trusted_proxies: list[str] = Field(
        default_factory=list,
        description=(
            "Addresses or CIDR networks of the reverse proxies in front of the process (a JSON "
            "list). Only a request whose connection comes from one of them has its "
            "`X-Forwarded-For` read, for the client address (what throttling counts, event logs "
            "record and the access log prints), and its `X-Forwarded-Proto`, for its scheme; "
            "empty, the connection's address is the client's, loopback included. The only "
            "setting for it: uvicorn's own reading of these headers is off."
        ),
    )
    tenant_brute_force_attempts: int = Field(
        default=10,
        ge=1,
        description=(
            "Failed password sign-ins to one account from one IP address before that address "
            "is blocked for that account (Auth0's Brute-force Protection, `limit_wc`). A "
            "successful sign-in from the address, a new password, or an administrator "
            "(`DELETE /api/v2/user-blocks/{id}`) lifts the block."
        ),
    )
    tenant_brute_force_window_seconds: int = Field(
        default=30 * 86400,
        ge=1,
        description=(
            "Time over which the failed sign-ins of one account and IP address drain: one more "
            "attempt is allowed every window/attempts seconds (with the defaults, one every three "
            "days, so the block in effect holds until it is lifted)."
        ),
    )
    tenant_ip_throttle_attempts: int = Field(
        default=100,
        ge=1,
        description=(
            "Failed password sign-ins from one IP address, whatever the account, before the "
            "address is throttled with a 429 (Auth0's Suspicious IP Throttling, `limit_mu`)."
        ),
    )
    tenant_ip_throttle_window_seconds: int = Field(
        default=86400,
        ge=1,
        description=(
            "Time over which one address's failed sign-ins drain: with the defaults one more "
            "attempt every 864 seconds, Auth0's rate."
        ),
    )
    tenant_client_throttle_attempts: int = Field(
        default=10,
        ge=1,
        description=(
            "Failed client authentications of one client_id from one IP address at the token "
            "and revocation endpoints before that client is refused from that address with a "
            "429 `too_many_attempts`."
        ),
    )
    tenant_client_throttle_window_seconds: int = Field(
        default=900,
        ge=1,
        description=(
            "Time over which one client and address's failures drain (with the defaults one "
            "more attempt every 90 seconds, so a client whose secret is fixed gets through soon)."
        ),
    )
    tenant_client_ip_throttle_attempts: int = Field(
        default=100,
        ge=1,
        description=(
            "Failed client authentications from one IP address, whatever the client_id, before "
            "the address is refused at the token and revocation endpoints with a 429."
        ),
    )
    tenant_client_ip_throttle_window_seconds: int = Field(
        default=86400,
        ge=1,
        description="Time over which one address's failed client authentications drain.",
    )
    workforce_lockout_attempts: int = Field(
        default=10,
        ge=1,
        description=(
            "Failed sign-ins of a user, from anywhere, before the user is `LOCKED_OUT` "
            "(Okta's password policy default, `user.account.lock`); a successful sign-in "
            "resets the count, `POST /api/v1/users/{id}/lifecycle/unlock` unlocks."
        ),
    )
    workforce_lockout_window_seconds: int = Field(
        default=30 * 86400,
        ge=1,
        description=(
            "Time over which a user's failed sign-ins drain without a successful one; Okta "
            "counts them until a success, which the 30-day default comes close to."
        ),
    )
    workforce_lockout_auto_unlock_minutes: int | None = Field(
        default=None,
        ge=1,
        description=(
            "Minutes after which a `LOCKED_OUT` user is unlocked at their next sign-in "
            "(Okta's 'Account will automatically unlock after'); unset, as in Okta, only an "
            "administrator unlocks."
        ),
    )
    workforce_ip_throttle_attempts: int = Field(
        default=100,
        ge=1,
        description=(
            "Failed sign-ins from one IP address, whatever the user, before the org login "
            "page answers that address with a 429."
        ),
    )
    workforce_ip_throttle_window_seconds: int = Field(
        default=86400,
        ge=1,
        description="Time over which one address's failed sign-ins drain.",
    )

    @model_validator(mode="after")
    def _check_password_hash_cost(self) -> Settings:
        memory, passes = self.password_hash_memory_kib, self.password_hash_time_cost
        if not any(memory >= m and passes >= t for m, t in OWASP_ARGON2ID_MINIMUMS):
            rows = ", ".join(f"{m} KiB with {t}" for m, t in OWASP_ARGON2ID_MINIMUMS)
            raise ValueError(
                f"Argon2id with {memory} KiB and {passes} passes is weaker than OWASP's minimum; "
                f"give at least one of its rows (memory with passes): {rows}"
            )
        return self

    @field_validator("trusted_proxies")
    @classmethod
    def _check_trusted_proxies(cls, values: list[str]) -> list[str]:
        parse_networks(values)
        return values

    def trusted_proxy_networks(self) -> tuple[IPNetwork, ...]:
        """The trusted proxies, parsed."""
        # Asked on every request (twice on the token endpoint's): parsing one network costs
        # about 3.4 us, finding the networks already parsed 0.2 us.
        return _parsed_networks(tuple(self.trusted_proxies))

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

    def resolved_secret_key_fallbacks(self) -> tuple[str, ...]:
        """The replaced secret keys that still open what they sealed, newest first as given."""
        if self.secret_key_fallbacks is None:
            return ()
        listed = self.secret_key_fallbacks.get_secret_value().split(",")
        return tuple(key.strip() for key in listed if key.strip())

    def sealer(self, purpose: str) -> Sealer:
        """The :class:`Sealer` of ``purpose``: seals under the secret key, and opens what it or
        its fallbacks sealed."""
        return Sealer(self.resolved_secret_key(), purpose, self.resolved_secret_key_fallbacks())

    @property
    def tenant_issuer(self) -> str:
        """The tenant's issuer identifier, which ends with a slash as Auth0's does."""
        return self.tenant_public_url.rstrip("/") + "/"

    @property
    def management_audience(self) -> str:
        """The audience of the tenant's Management API."""
        return self.tenant_issuer + "api/v2/"


@functools.lru_cache(maxsize=8)
def _parsed_networks(values: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return parse_networks(values)


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, with explicit overrides taking precedence."""
    return Settings(**overrides)  # type: ignore[arg-type]
