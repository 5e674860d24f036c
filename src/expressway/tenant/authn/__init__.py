"""The tenant's Authentication API: discovery, JWKS and the token endpoint."""
