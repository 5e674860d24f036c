"""The parameters of an authorization request (RFC 6749 §4.1.1, OpenID Connect Core §3.1.2.1),
read and checked without the database.

Errors here are OAuth errors for the client's redirection URI; the two parameters that decide
whether there is a redirection URI to send them to (``client_id``, ``redirect_uri``) are read by
:func:`read_parameters` only, and checked by the endpoint against the client.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from expressway.oauth.errors import InvalidRequest, OAuthError
from expressway.oauth.scopes import parse_scope

PROMPTS = ("none", "login", "consent")
#: Longest accepted value per parameter; longer ones are refused rather than cut.
MAX_LENGTHS = {
    "client_id": 64,
    "redirect_uri": 2048,
    "response_type": 64,
    "response_mode": 32,
    "scope": 2048,
    "state": 2048,
    "nonce": 512,
    "audience": 600,
    "code_challenge": 128,
    "code_challenge_method": 16,
    "prompt": 64,
    "max_age": 9,
    "login_hint": 320,
    "organization": 64,
    "connection": 128,
}


class UnsupportedResponseType(OAuthError):
    error = "unsupported_response_type"


class LoginRequired(OAuthError):
    """OpenID Connect Core §3.1.2.6: ``prompt=none`` and no usable session."""

    error = "login_required"


class ConsentRequired(OAuthError):
    error = "consent_required"


class InteractionRequired(OAuthError):
    error = "interaction_required"


@dataclass(frozen=True)
class RawParameters:
    values: dict[str, str]
    #: Parameters sent more than once, which RFC 6749 §3.1 forbids.
    repeated: frozenset[str]

    def get(self, name: str) -> str | None:
        """A parameter's value; an empty value counts as absent (RFC 6749 §3.1)."""
        return self.values.get(name) or None


@dataclass(frozen=True)
class AuthorizationParameters:
    """What the login needs to remember of the request, once checked."""

    response_type: str
    scope: tuple[str, ...]
    state: str | None
    nonce: str | None
    audience: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    prompt: frozenset[str]
    max_age: int | None
    login_hint: str | None
    organization: str | None
    connection: str | None


def read_parameters(pairs: Iterable[tuple[str, object]]) -> RawParameters:
    values: dict[str, str] = {}
    repeated: set[str] = set()
    for name, value in pairs:
        if not isinstance(value, str):
            # A file in a multipart body is no parameter of ours.
            continue
        if name in values:
            repeated.add(name)
        values[name] = value
    return RawParameters(values, frozenset(repeated))


def check_not_repeated_or_too_long(raw: RawParameters, names: Iterable[str]) -> None:
    for name in names:
        if name in raw.repeated:
            raise InvalidRequest(f"parameter {name} is repeated")
        value = raw.values.get(name)
        if value is not None and len(value) > MAX_LENGTHS[name]:
            raise InvalidRequest(f"parameter {name} is longer than {MAX_LENGTHS[name]} characters")


def parse_prompt(value: str | None) -> frozenset[str]:
    prompts = frozenset((value or "").split())
    unknown = sorted(prompts - set(PROMPTS))
    if unknown:
        raise InvalidRequest(
            f"prompt {' '.join(unknown)} is not supported; use {', '.join(PROMPTS)}"
        )
    if "none" in prompts and len(prompts) > 1:
        # OpenID Connect Core §3.1.2.1: none cannot go with any other value.
        raise InvalidRequest("prompt=none cannot be combined with another prompt value")
    return prompts


def parse_max_age(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.isascii() or not value.isdigit():
        raise InvalidRequest("max_age must be a number of seconds")
    return int(value)


def parse_parameters(raw: RawParameters) -> AuthorizationParameters:
    """The request's parameters other than ``client_id`` and ``redirect_uri``, checked for form.

    Unknown parameters are ignored, as RFC 6749 §3.1 requires.
    """
    check_not_repeated_or_too_long(
        raw, (n for n in MAX_LENGTHS if n not in ("client_id", "redirect_uri"))
    )
    response_type = raw.get("response_type")
    if response_type is None:
        raise InvalidRequest("response_type is required")
    if response_type != "code":
        raise UnsupportedResponseType(
            f"response_type {response_type} is not supported; use code (with PKCE)"
        )
    response_mode = raw.get("response_mode")
    if response_mode not in (None, "query"):
        raise InvalidRequest(f"response_mode {response_mode} is not supported; use query")
    return AuthorizationParameters(
        response_type=response_type,
        scope=tuple(parse_scope(raw.get("scope") or "")),
        state=raw.get("state"),
        nonce=raw.get("nonce"),
        audience=raw.get("audience"),
        code_challenge=raw.get("code_challenge"),
        code_challenge_method=raw.get("code_challenge_method"),
        prompt=parse_prompt(raw.get("prompt")),
        max_age=parse_max_age(raw.get("max_age")),
        login_hint=raw.get("login_hint"),
        organization=raw.get("organization"),
        connection=raw.get("connection"),
    )
