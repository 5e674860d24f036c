"""The Express Configure client: an org admin's *Express Configure SSO & UL* and *Express
Configure SCIM* on an OIN app instance, over HTTP to the tenant (SPEC §4)."""
