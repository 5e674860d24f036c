"""Each org's OpenID provider, whose issuer is ``{workforce}/orgs/{org}`` (Okta's org
authorization server).

Does: publish the org's discovery document and JWKS; sign users in on the org's login page
(sessions, PKCE, ``prompt``, ``max_age``); issue codes, ID tokens, access tokens and rotating
refresh tokens to the org's active OIDC app instances; answer ``/userinfo``; log out.
Does not: consent screens, MFA, implicit or hybrid flows, token revocation or introspection.
"""
