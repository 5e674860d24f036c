"""SCIM PATCH (RFC 7644 §3.5.2): reading a request and applying it to a resource.

scim2-models applies the operations (paths with value filters, ``primary`` uniqueness, the
all-or-nothing rule, mutability checks); this module reads requests in the shapes Okta and
Microsoft Entra send, which the library accepts under :data:`~expressway.scim.resources.POLICY`:
``op`` in any case (``"Replace"``), a path-less ``replace`` whose value is an object of attributes,
``members[value eq "…"]`` removal, an empty ``members`` replace, a boolean sent as the string
``"False"``, and ``emails[type eq "work"].value``.
"""

from __future__ import annotations

from typing import Any, cast

from pydantic import ValidationError
from scim2_models import Context, PatchOp, SCIMException

from expressway.scim.errors import ScimError, invalid_syntax, invalid_value
from expressway.scim.resources import (
    ENTERPRISE_URN,
    POLICY,
    GroupResource,
    UserResource,
    complete_manager_value,
    complete_user_payload,
)

PATCH_OP_URN = str(PatchOp.__schema__)
#: More operations than this in one request are refused: clients send a handful.
MAX_OPERATIONS = 1000


def _complete_operation(operation: Any, users_url: str) -> Any:
    if not isinstance(operation, dict):
        return operation
    path = operation.get("path")
    value = operation.get("value")
    if isinstance(path, str) and path.lower() == f"{ENTERPRISE_URN}:manager".lower():
        return {**operation, "value": complete_manager_value(value, users_url)}
    if path is None and isinstance(value, dict):
        return {**operation, "value": complete_user_payload(value, users_url)}
    return operation


def read_patch(
    model: type[UserResource] | type[GroupResource], payload: Any, users_url: str
) -> PatchOp[Any]:
    """A PatchOp request validated for ``model``; raises :class:`ScimError` (``invalidSyntax``,
    ``invalidPath``, ``invalidValue``, ``noTarget``, ``mutability``)."""
    if not isinstance(payload, dict):
        raise invalid_syntax("the request body must be a JSON object")
    schemas = payload.get("schemas")
    if not isinstance(schemas, list) or PATCH_OP_URN not in schemas:
        raise invalid_syntax(f"schemas must name {PATCH_OP_URN}")
    operations = payload.get("Operations", payload.get("operations"))
    if not isinstance(operations, list):
        raise invalid_syntax("Operations must be an array of operations")
    if len(operations) > MAX_OPERATIONS:
        raise invalid_value(f"a PATCH request holds at most {MAX_OPERATIONS} operations")
    if model is UserResource:
        operations = [_complete_operation(op, users_url) for op in operations]
    body = {"schemas": schemas, "Operations": operations}
    patch_type = cast(Any, PatchOp)[model]
    try:
        return cast(
            "PatchOp[Any]",
            patch_type.model_validate(
                body, scim_ctx=Context.RESOURCE_PATCH_REQUEST, scim_policy=POLICY
            ),
        )
    except ValidationError as exc:
        raise ScimError.from_validation_error(exc) from exc
    except SCIMException as exc:
        raise ScimError.from_scim_exception(exc) from exc
    except (TypeError, ValueError) as exc:
        raise invalid_value(str(exc)) from exc


def apply_patch(patch: PatchOp[Any], resource: UserResource | GroupResource) -> bool:
    """Apply every operation in order, all or nothing; answers whether anything changed."""
    try:
        return patch.patch(resource, POLICY)
    except ValidationError as exc:
        raise ScimError.from_validation_error(exc) from exc
    except SCIMException as exc:
        raise ScimError.from_scim_exception(exc) from exc
    except (TypeError, ValueError) as exc:
        raise invalid_value(str(exc)) from exc
