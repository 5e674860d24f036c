"""The tenant's SCIM 2.0 server at ``/scim/v2/connections/{connection_id}/`` (SPEC §2.2)."""
