"""``doctor``: every Express Configuration prerequisite of a tenant, checked (and with ``fix``,
made) from outside, through the Management API and the official Auth0 SDK only.

Imports neither system: it serves Expressway's tenant and an Auth0 tenant alike.
"""

from expressway.doctor.checks import CHECKS, Check
from expressway.doctor.inputs import BadInput, Credentials, Inputs, read_pem, tenant_url
from expressway.doctor.remote import TenantUnavailable
from expressway.doctor.report import CheckResult, FixResult, Report, Status
from expressway.doctor.service import diagnose, examine, repair

__all__ = [
    "CHECKS",
    "BadInput",
    "Check",
    "CheckResult",
    "Credentials",
    "FixResult",
    "Inputs",
    "Report",
    "Status",
    "TenantUnavailable",
    "diagnose",
    "examine",
    "read_pem",
    "repair",
    "tenant_url",
]
