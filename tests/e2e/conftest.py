"""End-to-end tests: the tenant and the workforce IdP as real servers, talking HTTP."""

from tests.interop.conftest import live_tenant  # noqa: F401 - shared session fixture
from tests.interop.workforce_server import live_workforce  # noqa: F401 - shared session fixture
