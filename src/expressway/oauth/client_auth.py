"""Reading a client's credentials from a token request (RFC 6749 §2.3, RFC 7523 §2.2).

The request may carry at most one authentication method; more than one is refused, as RFC 6749
§2.3 requires.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import NamedTuple
from urllib.parse import unquote_plus

from expressway.oauth.errors import InvalidClient, InvalidRequest

JWT_BEARER_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class PresentedCredentials(NamedTuple):
    """What the client presented. ``method`` is the RFC 7591 name of the method used."""

    method: str
    client_id: str | None
    secret: str | None = None
    assertion: str | None = None


def read_client_credentials(
    authorization: str | None, form: Mapping[str, str]
) -> PresentedCredentials:
    """Pick the client authentication method out of the ``Authorization`` header and the form."""
    methods: list[PresentedCredentials] = []
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(value.strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError) as exc:
                raise InvalidClient("the Basic authorization header is not valid base64") from exc
            user, sep, password = decoded.partition(":")
            if not sep:
                raise InvalidClient("the Basic authorization header lacks a colon")
            # RFC 6749 §2.3.1: both parts are form-urlencoded before base64.
            methods.append(
                PresentedCredentials(
                    "client_secret_basic", unquote_plus(user), secret=unquote_plus(password)
                )
            )
    if form.get("client_secret"):
        methods.append(
            PresentedCredentials(
                "client_secret_post", form.get("client_id"), secret=form["client_secret"]
            )
        )
    if form.get("client_assertion") or form.get("client_assertion_type"):
        if form.get("client_assertion_type") != JWT_BEARER_ASSERTION:
            raise InvalidClient(f"client_assertion_type must be {JWT_BEARER_ASSERTION}")
        if not form.get("client_assertion"):
            raise InvalidRequest("client_assertion is missing")
        methods.append(
            PresentedCredentials(
                "private_key_jwt", form.get("client_id"), assertion=form["client_assertion"]
            )
        )
    if len(methods) > 1:
        raise InvalidRequest("more than one client authentication method was used")
    if methods:
        presented = methods[0]
        form_id = form.get("client_id")
        if form_id and presented.client_id and form_id != presented.client_id:
            raise InvalidClient("client_id in the form differs from the authenticated client")
        return presented
    return PresentedCredentials("none", form.get("client_id"))
