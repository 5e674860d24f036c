"""Expressway: Express Configuration of SSO, SCIM and Universal Logout, both sides of it."""

__version__ = "0.1.0"
