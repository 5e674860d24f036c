"""Orgs: each one an Okta tenant, addressed by its name under ``/orgs/{name}``."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from expressway.workforce import ids
from expressway.workforce.errors import InvalidInput, NotFound
from expressway.workforce.rows import OrgRow

#: A DNS label: the name is a path segment today and could be a subdomain tomorrow.
ORG_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def check_name(name: str) -> str:
    if not ORG_NAME.fullmatch(name):
        raise InvalidInput.field(
            "name",
            "An org name is 1 to 63 lower-case letters, digits and hyphens, "
            "starting and ending with a letter or digit",
        )
    return name


#: Built once: every request of the admin API and the console finds its org by name.
_BY_NAME = select(OrgRow).where(OrgRow.name == bindparam("name"))


def find_by_name(session: Session, name: str) -> OrgRow | None:
    return session.scalars(_BY_NAME, {"name": name}).first()


def get_by_name(session: Session, name: str) -> OrgRow:
    org = find_by_name(session, name)
    if org is None:
        raise NotFound(name, "Org")
    return org


def create(session: Session, now: datetime, name: str) -> OrgRow:
    org = OrgRow(id=ids.okta_id(ids.ORG, now), name=check_name(name), created_at=now)
    session.add(org)
    session.flush()
    return org
