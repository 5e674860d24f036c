"""The ASGI shell both systems share: security headers, error plumbing, sessions, CSRF."""
