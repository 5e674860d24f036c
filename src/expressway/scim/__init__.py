"""Sans-I/O SCIM 2.0 (RFC 7643, RFC 7644) shared by both systems: the resource models, filters,
PATCH application and the SCIM error.

The grammar, the typed syntax tree and the PATCH machinery are scim2-models'; this package fixes
the tolerance Expressway grants the provisioning clients it meets (Okta, Microsoft Entra) and turns
every failure into one :class:`~expressway.scim.errors.ScimError`.
"""
