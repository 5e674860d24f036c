"""Scope strings (RFC 6749 §3.3) and the OpenID Connect scopes (OIDC Core §5.4, §11).

``scope = scope-token *( SP scope-token )`` where a scope-token is one or more printable ASCII
characters other than space, ``"`` and ``\\``. Runs of spaces are tolerated, as clients send
them; any other character refuses the whole string, so a token can never smuggle a separator
or a quote into a JWT claim or a log line. The order of first appearance is kept and repeats
are dropped: ``openid openid email`` asks for two scopes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from expressway.oauth.errors import InvalidScope

#: Scopes about the user rather than an API: they are never permissions of a resource server.
OIDC_SCOPES = ("openid", "profile", "email", "offline_access")
#: The claims each OIDC scope releases in the ID token and at ``/userinfo`` (OIDC Core §5.4).
SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "profile": (
        "name",
        "family_name",
        "given_name",
        "nickname",
        "picture",
        "updated_at",
    ),
    "email": ("email", "email_verified"),
}
MAX_SCOPE_LENGTH = 4096
MAX_SCOPE_TOKEN_LENGTH = 280


#: RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), here at most
#: :data:`MAX_SCOPE_TOKEN_LENGTH` of them.
_SCOPE_TOKEN = re.compile(rf"[!#-\[\]-~]{{1,{MAX_SCOPE_TOKEN_LENGTH}}}")


def is_scope_token(token: str) -> bool:
    """Whether ``token`` is one RFC 6749 scope-token."""
    return _SCOPE_TOKEN.fullmatch(token) is not None


def parse_scope(value: str) -> list[str]:
    """The scopes a ``scope`` parameter asks for, in order, without repeats."""
    if len(value) > MAX_SCOPE_LENGTH:
        raise InvalidScope(f"scope is longer than {MAX_SCOPE_LENGTH} characters")
    scopes: dict[str, None] = {}
    for token in value.split(" "):
        if not token:
            continue
        if not is_scope_token(token):
            raise InvalidScope(
                "scope holds a token with a character RFC 6749 §3.3 does not allow, "
                f"or longer than {MAX_SCOPE_TOKEN_LENGTH} characters"
            )
        scopes[token] = None
    return list(scopes)


def format_scope(scopes: Iterable[str]) -> str:
    """The ``scope`` string of ``scopes``, in order, without repeats."""
    return " ".join(dict.fromkeys(scopes))


def check_narrowing(requested: Iterable[str], granted: Iterable[str]) -> None:
    """Refuse a request for a scope beyond those granted (RFC 6749 §6: never widened)."""
    allowed = set(granted)
    extra = [s for s in dict.fromkeys(requested) if s not in allowed]
    if extra:
        raise InvalidScope(
            f"scope may only narrow the original grant; not granted: {' '.join(extra)}"
        )


def oidc_scopes(scopes: Iterable[str]) -> list[str]:
    """The OpenID Connect scopes among ``scopes``, in order."""
    return [s for s in scopes if s in OIDC_SCOPES]


def released_claims(scopes: Iterable[str]) -> list[str]:
    """The user claims the OIDC scopes among ``scopes`` release (OIDC Core §5.4)."""
    return [claim for scope in dict.fromkeys(scopes) for claim in SCOPE_CLAIMS.get(scope, ())]
