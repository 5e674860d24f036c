"""The Management API at ``/api/v2``: Auth0's paths, JSON shapes, scope names and errors.

Does: check the caller's access token and scope, validate the request into a schema, call a
service, render the answer in Auth0's shape, log the write. Does not: hold business rules (those
live in ``expressway.tenant.services``) or commit by itself (the request's unit of work does).
"""
