"""The tenant's domain services: rules over rows, no HTTP.

Each function takes the request's :class:`~sqlalchemy.orm.Session` and a clock, flushes what it
changes so that constraint violations surface inside the request, and never commits.
"""
