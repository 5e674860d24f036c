"""Okta's base user profile: which attributes exist, which are required, and their limits.

A profile is checked as a whole and every fault is reported at once, one cause per attribute,
worded as Okta words them (``login: An object with this field already exists…``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from expressway.workforce.errors import InvalidInput

REQUIRED = ("login", "email", "firstName", "lastName")

#: Okta's base profile attributes and their greatest lengths.
MAX_LENGTHS: dict[str, int] = {
    "login": 100,
    "email": 100,
    "firstName": 50,
    "lastName": 50,
    "middleName": 50,
    "honorificPrefix": 100,
    "honorificSuffix": 100,
    "title": 100,
    "displayName": 255,
    "nickName": 100,
    "profileUrl": 1024,
    "secondEmail": 100,
    "mobilePhone": 100,
    "primaryPhone": 100,
    "streetAddress": 1024,
    "city": 128,
    "state": 128,
    "zipCode": 50,
    "countryCode": 2,
    "postalAddress": 4096,
    "preferredLanguage": 100,
    "locale": 100,
    "timezone": 100,
    "userType": 100,
    "employeeNumber": 100,
    "costCenter": 100,
    "organization": 100,
    "division": 100,
    "department": 100,
    "managerId": 100,
    "manager": 100,
}

EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+$")
_EMAIL_ATTRIBUTES = ("email", "secondEmail")


@dataclass
class Profile:
    """A checked profile: the four base attributes, and the others that were given."""

    login: str
    email: str
    first_name: str
    last_name: str
    extra: dict[str, str] = field(default_factory=dict)


def check(values: Mapping[str, Any]) -> Profile:
    """Check a complete profile; ``None`` values are left out, as if not given."""
    causes: list[str] = []
    given = {name: value for name, value in values.items() if value is not None}
    for name in sorted(set(given) - set(MAX_LENGTHS)):
        causes.append(f"{name}: Property name '{name}' is not defined in profile")
    for name, value in given.items():
        if name not in MAX_LENGTHS:
            continue
        if not isinstance(value, str):
            causes.append(f"{name}: Does not match required type string")
        elif len(value) > MAX_LENGTHS[name]:
            causes.append(f"{name}: The field is too long (maximum {MAX_LENGTHS[name]})")
    for name in REQUIRED:
        value = given.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            causes.append(f"{name}: The field cannot be left blank")
    login = given.get("login")
    if isinstance(login, str) and login.strip() and not EMAIL.fullmatch(login):
        causes.append("login: Username must be in the form of an email address")
    for name in _EMAIL_ATTRIBUTES:
        value = given.get(name)
        if isinstance(value, str) and value and not EMAIL.fullmatch(value):
            causes.append(f"{name}: Does not match required pattern")
    if causes:
        first = causes[0].split(":", 1)[0]
        raise InvalidInput(f"Api validation failed: {first}", causes=causes)
    return Profile(
        login=given["login"],
        email=given["email"],
        first_name=given["firstName"],
        last_name=given["lastName"],
        extra={k: v for k, v in given.items() if k not in REQUIRED},
    )
