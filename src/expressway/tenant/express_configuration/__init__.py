"""Express Configuration: the API the OIN calls to configure SSO and SCIM for an organization."""
