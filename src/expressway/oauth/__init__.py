"""OAuth 2.0 / OpenID Connect rules shared by both systems, with no I/O.

Does: name the protocol's errors (RFC 6749 §5.2), read client credentials out of a request's
headers and form, and decide. Does not: look anything up in a database or speak HTTP; the
systems call it with what they read and render what it decides.
"""
