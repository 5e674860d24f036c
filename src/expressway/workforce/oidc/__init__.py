"""Each org's OpenID provider, whose issuer is ``{workforce}/orgs/{org}``.

Does: publish the org's discovery document and JWKS (signing keys of that org only).
Does not (yet): authorize, token, userinfo, logout; those endpoints join this package and their
entries join :func:`expressway.workforce.oidc.metadata.provider_metadata`.
"""
