"""Anti-CSRF tokens for server-rendered forms (synchronizer token pattern).

The token is made when a flow starts, kept server side with the flow, and sent in a hidden field
of each form; a POST is accepted only when the field matches what the server kept. A page on
another site can make the browser POST, but cannot read the page to learn the token.
"""

from __future__ import annotations

import hmac
import secrets

#: The hidden field that carries the token.
FIELD_NAME = "csrf_token"


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_tokens_match(expected: str, presented: str | None) -> bool:
    """Whether a form's token is the one kept for its flow, compared in constant time."""
    if not presented:
        return False
    return hmac.compare_digest(expected.encode(), presented.encode())
