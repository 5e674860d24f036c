"""The Management API's scopes, by Auth0's names; the admin client created by ``tenant init``
is granted all of them."""

from __future__ import annotations

MANAGEMENT_SCOPES: tuple[tuple[str, str], ...] = tuple(
    (f"{verb}:{noun}", f"{verb.capitalize()} {noun.replace('_', ' ')}")
    for noun, verbs in (
        ("clients", ("read", "create", "update", "delete")),
        ("client_keys", ("read", "update")),
        ("client_credentials", ("read", "create", "update", "delete")),
        ("client_grants", ("read", "create", "update", "delete")),
        ("resource_servers", ("read", "create", "update", "delete")),
        ("roles", ("read", "create", "update", "delete")),
        ("role_members", ("read", "create", "delete")),
        ("users", ("read", "create", "update", "delete")),
        ("organizations", ("read", "create", "update", "delete")),
        ("organization_members", ("read", "create", "delete")),
        ("organization_member_roles", ("read", "create", "delete")),
        ("organization_connections", ("read", "create", "update", "delete")),
        ("connections", ("read", "create", "update", "delete")),
        ("scim_config", ("read", "create", "update", "delete")),
        ("scim_token", ("read", "create", "delete")),
        ("connection_profiles", ("read", "create", "update", "delete")),
        ("user_attribute_profiles", ("read", "create", "update", "delete")),
        ("tenant_settings", ("read", "update")),
        ("logs", ("read",)),
    )
    for verb in verbs
)

MANAGEMENT_SCOPE_NAMES: tuple[str, ...] = tuple(name for name, _ in MANAGEMENT_SCOPES)
