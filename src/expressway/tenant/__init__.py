"""The tenant: the SaaS vendor's identity platform, in Auth0's image.

Does: hold clients, APIs, roles, users, organizations and connections; answer the Management API
in Auth0's shapes; issue tokens. Does not: import anything of the workforce side; it meets the
workforce IdP only over HTTP.
"""
