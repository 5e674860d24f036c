"""Okta's admin API of each org, at ``/orgs/{org}/api/v1``: users, groups, apps, assignments,
API tokens and the System Log, in Okta's paths, shapes and errors, so the official Okta SDKs work
against an org's URL unchanged.

Does: authenticate ``SSWS`` tokens of the org in the path, check the caller is an admin there,
turn requests into service calls in one unit of work, log every write to the System Log.
Does not: hold domain rules (the services do), or reach another org's rows: every lookup is by
the org of the path.
"""
