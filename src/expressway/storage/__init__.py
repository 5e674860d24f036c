"""Storage plumbing shared by both systems: engines, column types, the unit of work, migrations.

Does: open databases (SQLite with WAL and foreign keys, or PostgreSQL), run Alembic migrations,
hand out one :class:`~sqlalchemy.orm.Session` per unit of work and commit or roll it back.
Does not: know any table of either system; repositories never commit, the unit of work does.
"""
