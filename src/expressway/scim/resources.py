"""The resources Expressway serves over SCIM, how their payloads are read, and how they are
written back.

The models are scim2-models' ``User`` with the enterprise extension and ``Group``. Payloads are
read under :data:`POLICY`, which tolerates what real provisioning clients send:

- attributes no schema declares are dropped, not refused (Okta sends an application's custom
  attributes; RFC 7644 §3.3 lets a service provider ignore what it does not store);
- a ``remove`` that names its target in ``value`` instead of the path, and an ``add`` or
  ``replace`` on ``emails[type eq "work"].value`` when the user has no work e-mail yet, do what
  Microsoft Entra means by them;
- the enterprise ``manager`` may arrive as a bare id, or without the ``$ref`` RFC 7643 §4.3
  requires: both as Entra sends them. The reference is then completed from the id.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple, TypeVar, cast

from pydantic import BaseModel, TypeAdapter, ValidationError
from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    EnterpriseUser,
    ETag,
    Filter,
    Group,
    Meta,
    Mutability,
    Patch,
    Required,
    ResourceType,
    ResponseParameters,
    Returned,
    Schema,
    SCIMException,
    ScimPolicy,
    ServiceProviderConfig,
    Sort,
    User,
    default_comparison_key,
)
from scim2_models import BaseModel as ScimModel
from scim2_models import Path as ScimPath

from expressway.scim.errors import ScimError, invalid_syntax, invalid_value

#: The User resource: the core schema with the enterprise extension (RFC 7643 §4).
UserResource = User[EnterpriseUser]
#: The Group resource (RFC 7643 §4.2).
GroupResource = Group

ENTERPRISE_URN = str(EnterpriseUser.__schema__)
USER_URN = str(User.__schema__)
GROUP_URN = str(Group.__schema__)

#: What Expressway tolerates from a peer (see the module's docstring).
POLICY = ScimPolicy(
    unknown=ScimPolicy.Unknown.ignore,
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)

#: Most resources one list answer carries (``count`` is capped to it, RFC 7644 §3.4.2.4).
MAX_RESULTS = 200
#: Resources per page when a list is asked for without ``count``.
DEFAULT_COUNT = 100

ResourceT = TypeVar("ResourceT", bound=UserResource | GroupResource)


def comparison_key(binding: Any, value: str) -> str:
    """The form a string is compared and indexed in: NFC, lower-cased unless caseExact."""
    return POLICY.comparison_key(binding, value)


@functools.cache
def _binding(model: type[UserResource] | type[GroupResource], attribute: str) -> Any:
    """An attribute's binding, resolved once: resolving it again on every write cost as much
    as the comparison form it serves."""
    return cast(Any, ScimPath)[model](attribute).resolve()


def user_name_key(user_name: str) -> str:
    """``userName`` as it is compared: case-insensitively (RFC 7643 §4.1.1)."""
    return comparison_key(_binding(UserResource, "userName"), user_name)


def display_name_key(display_name: str) -> str:
    """A group's ``displayName`` as it is compared: case-insensitively (RFC 7643 §4.2)."""
    return comparison_key(_binding(GroupResource, "displayName"), display_name)


def _manager_with_reference(manager: Any, users_url: str) -> Any:
    if isinstance(manager, str):
        manager = {"value": manager}
    if isinstance(manager, dict) and manager.get("value") and not manager.get("$ref"):
        return {**manager, "$ref": f"{users_url}/{manager['value']}"}
    return manager


def complete_user_payload(payload: Any, users_url: str) -> Any:
    """A User payload with the enterprise manager's reference completed (see module docstring)."""
    if not isinstance(payload, dict):
        return payload
    completed = dict(payload)
    for key, extension in payload.items():
        if key.lower() == ENTERPRISE_URN.lower() and isinstance(extension, dict):
            fixed = dict(extension)
            for name, value in extension.items():
                if name.lower() == "manager":
                    fixed[name] = _manager_with_reference(value, users_url)
            completed[key] = fixed
        elif key.lower() == f"{ENTERPRISE_URN}:manager".lower():
            completed[key] = _manager_with_reference(extension, users_url)
    return completed


def complete_manager_value(value: Any, users_url: str) -> Any:
    """A PATCH value written at the enterprise ``manager`` path, completed as above."""
    return _manager_with_reference(value, users_url)


def read_resource(model: type[ResourceT], payload: Any, context: Context) -> ResourceT:
    """A creation or replacement payload validated into ``model``.

    Raises :class:`ScimError` (``invalidSyntax`` for what is not a resource of that schema,
    ``invalidValue`` for a value that does not fit its attribute).
    """
    if not isinstance(payload, dict):
        raise invalid_syntax("the request body must be a JSON object")
    if not isinstance(payload.get("schemas"), list) or not any(
        isinstance(s, str) and s.lower() == str(model.__schema__).lower()
        for s in payload["schemas"]
    ):
        raise invalid_syntax(f"schemas must name {model.__schema__}")
    try:
        if context in _WHOLE_WRITES and _WHOLE_WRITE_RULES_ARE_OURS:
            resource = _read_whole_write(model, payload)
            if resource is not None:
                return resource
        # A payload the rules refuse is validated again by the models, so that the refusal
        # is theirs, in their words.
        return cast(ResourceT, model.model_validate(payload, scim_ctx=context, scim_policy=POLICY))
    except ValidationError as exc:
        raise ScimError.from_validation_error(exc) from exc
    except SCIMException as exc:
        raise ScimError.from_scim_exception(exc) from exc
    except (TypeError, ValueError) as exc:
        raise invalid_value(str(exc)) from exc


#: The requests that write a whole resource (RFC 7644 §3.3 and §3.5.1), which
#: :func:`_read_whole_write` reads.
_WHOLE_WRITES = (Context.RESOURCE_CREATION_REQUEST, Context.RESOURCE_REPLACEMENT_REQUEST)
#: Under :data:`POLICY`, the models' rules for those requests, beyond a plain validation, are
#: the ones :func:`_read_whole_write` applies: their checks of strings the policy cannot
#: compare, and of unknown extension schemas, are off under the default comparison and with
#: unknown attributes tolerated.
_WHOLE_WRITE_RULES_ARE_OURS = (
    POLICY.comparison_key is default_comparison_key and POLICY.unknown != ScimPolicy.Unknown.forbid
)


def _read_whole_write(model: type[ResourceT], payload: dict[str, Any]) -> ResourceT | None:
    """The payload of a creation or a replacement, read as the models read it in that context;
    None when it breaks one of the context's rules, or is not valid at all (the caller then
    lets the models refuse it, with their words).

    The models check a request's context (RFC 7643 §2.4 and §7: required attributes present,
    one ``primary`` at most, read-only attributes ignored) in a validator of every object of
    the payload, which walks all of the object's fields and reads their annotations one by one:
    131 µs for a typical Okta user, against 50 µs for the plain validation, the largest cost of
    a SCIM create. Here the payload gets the plain validation, and the same rules, read once per
    model from the same annotations (:func:`_whole_write_rules`), are applied to the objects it
    holds. ``tests/scim/test_whole_writes.py`` compares both readings on generated payloads.
    The one difference no dump shows: an extension's own ``schemas``, which the plain
    validation fills in with its URN.
    """
    try:
        resource = model.model_validate(payload, scim_ctx=Context.DEFAULT, scim_policy=POLICY)
    except (ValidationError, SCIMException, TypeError, ValueError):
        return None
    return cast(ResourceT, resource) if _apply_whole_write_rules(resource) else None


class _WholeWriteRules(NamedTuple):
    """A model's fields, by what a whole write does with them."""

    #: Must be filled.
    required: tuple[str, ...]
    #: Multi-valued, with one ``primary`` item at most.
    one_primary: tuple[str, ...]
    #: Read-only: ignored when written.
    read_only: tuple[str, ...]
    #: Hold objects (complex attributes, single or multi-valued), whose rules apply too.
    complex: tuple[str, ...]


@functools.cache
def _whole_write_rules(model: type[ScimModel]) -> _WholeWriteRules:
    """:class:`_WholeWriteRules` of ``model``, from its fields' annotations, as the models'
    context validator reads them."""
    fields = list(model.model_fields)

    def holds(field_name: str, kind: type[BaseModel]) -> bool:
        item = model.get_field_root_type(field_name)
        return isinstance(item, type) and issubclass(item, kind)

    return _WholeWriteRules(
        required=tuple(
            f for f in fields if model.get_field_annotation(f, Required) == Required.true
        ),
        one_primary=tuple(
            f
            for f in fields
            if model.get_field_multiplicity(f)
            and holds(f, BaseModel)
            and "primary" in cast(Any, model.get_field_root_type(f)).model_fields
        ),
        read_only=tuple(
            f for f in fields if model.get_field_annotation(f, Mutability) == Mutability.read_only
        ),
        complex=tuple(f for f in fields if holds(f, ScimModel)),
    )


def _objects_in(obj: ScimModel, rules: _WholeWriteRules) -> Iterable[ScimModel]:
    """The objects ``obj`` holds: its complex attributes, the items of multi-valued ones."""
    for name in rules.complex:
        value = getattr(obj, name)
        if isinstance(value, list):
            yield from value
        elif value is not None:
            yield value


def _apply_whole_write_rules(obj: ScimModel) -> bool:
    """Whether ``obj`` and every object it holds fill their required attributes (an empty list
    is no value, RFC 7643 §2.5; ``schemas`` excepted, as the models do) and mark one item of a
    multi-valued attribute ``primary`` at most; the read-only attributes the payload wrote are
    unset on the way, as the models do (RFC 7644 §3.3: the service provider ignores them). A
    resource that breaks a rule is not used, whatever was unset in it."""
    rules = _whole_write_rules(type(obj))
    for name in rules.required:
        value = getattr(obj, name)
        if value is None or (value == [] and name != "schemas"):
            return False
    for name in rules.one_primary:
        items = getattr(obj, name)
        if items is not None and sum(getattr(i, "primary", None) is True for i in items) > 1:
            return False
    if not all(_apply_whole_write_rules(inner) for inner in _objects_in(obj, rules)):
        return False
    written = obj.model_fields_set
    for name in rules.read_only:
        if name in written:
            obj.__dict__[name] = None
    return True


def stored_form(resource: UserResource | GroupResource) -> dict[str, Any]:
    """What a resource keeps at rest: every returned attribute, without ``id``, ``meta`` and the
    attributes the server computes; write-only ones (``password``) never reach it.

    That is the resource as a response dumps it (``Context.RESOURCE_QUERY_RESPONSE``). The
    models' response dump judges every attribute at every level against the response's
    ``attributes`` parameters, of which a stored form has none; the plain dump with the
    attributes a response never returns unasked taken out (:func:`_withhold`) is the same
    document (``tests/scim/test_rendering.py`` compares them) at 20 µs instead of 49."""
    dumped = resource.model_dump(scim_policy=POLICY)
    _withhold(type(resource), dumped)
    for computed in ("id", "meta", "groups", "members"):
        dumped.pop(computed, None)
    return dumped


#: What :func:`_withhold` does with a key of a model's dump: remove it (None), or look into its
#: value, a sub-model's dump or a list of them.
_Withheld = dict[str, "type[ScimModel] | None"]


@functools.cache
def _withheld(model: type[ScimModel]) -> _Withheld:
    """The keys of ``model``'s dump whose attribute a response returns only when asked
    (``returned: never`` or ``request``), and those holding sub-models that have such keys."""
    plan: _Withheld = {}
    info = model.__scim_info__
    # A dump's keys are the attributes' aliases (an extension's is its URN), as the models'
    # own response dump maps them back to their fields.
    for key, field_name in info.alias_to_field.items():
        if model.get_field_annotation(field_name, Returned) in (Returned.never, Returned.request):
            plan[key] = None
            continue
        inner = model.get_field_root_type(field_name)
        if isinstance(inner, type) and issubclass(inner, ScimModel) and _withheld(inner):
            plan[key] = inner
    return plan


def _withhold(model: type[ScimModel], dumped: dict[str, Any]) -> None:
    """Take out of ``dumped`` (``model``'s dump) what a response returns only when asked, at
    every level; a sub-attribute left empty goes too, as the models' dump leaves no empty
    value."""
    plan = _withheld(model)
    if not plan:
        return
    for key in [key for key in dumped if key in plan]:
        inner = plan[key]
        if inner is None:
            del dumped[key]
            continue
        value = dumped[key]
        items = value if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, dict):
                _withhold(inner, item)
        if isinstance(value, list):
            value = dumped[key] = [item for item in value if item != {}]
        if value == [] or value == {}:
            del dumped[key]


def response_parameters(
    attributes: str | None, excluded_attributes: str | None
) -> ResponseParameters[Any] | None:
    """``attributes``/``excludedAttributes`` (RFC 7644 §3.4.2.5), comma-separated."""
    if not attributes and not excluded_attributes:
        return None

    def split(value: str | None) -> list[str] | None:
        if not value:
            return None
        return [part.strip() for part in value.split(",") if part.strip()] or None

    try:
        return ResponseParameters.model_validate(
            {
                "attributes": split(attributes),
                "excludedAttributes": split(excluded_attributes),
            }
        )
    except ValidationError as exc:
        raise ScimError.from_validation_error(exc) from exc


def is_excluded(parameters: ResponseParameters[Any] | None, attribute: str) -> bool:
    """Whether a top-level attribute is left out of answers under ``parameters``."""
    if parameters is None:
        return False
    name = attribute.lower()
    if parameters.excluded_attributes:
        return any(str(p).lower().split(".")[0] == name for p in parameters.excluded_attributes)
    if parameters.attributes:
        return not any(
            str(p).lower().split(".")[0] in (name, f"{USER_URN}:{name}".lower())
            for p in parameters.attributes
        )
    return False


def render(
    resource: UserResource | GroupResource,
    context: Context,
    parameters: ResponseParameters[Any] | None = None,
) -> dict[str, Any]:
    return resource.model_dump(scim_ctx=context, response_parameters=parameters, scim_policy=POLICY)


#: Dumps a datetime as pydantic dumps ``meta.created`` and ``meta.lastModified``.
_DATETIME: TypeAdapter[datetime] = TypeAdapter(datetime)


def _dump_order(model: type[BaseModel]) -> dict[str, int]:
    """Each attribute's place in a dump of ``model``: pydantic dumps fields in the order they
    are declared, extensions (keyed by their schema URN) last."""
    return {
        str(field.serialization_alias or name): place
        for place, (name, field) in enumerate(model.model_fields.items())
    }


@functools.cache
def _dump_orders(
    model: type[UserResource] | type[GroupResource], related: str
) -> tuple[dict[str, int], dict[str, int]]:
    """The order of ``model``'s attributes, and of the sub-attributes of its ``related`` one."""
    top = _dump_order(model)
    field = next(name for name, f in model.model_fields.items() if f.serialization_alias == related)
    item = model.get_field_root_type(field)
    if not (isinstance(item, type) and issubclass(item, BaseModel)):  # pragma: no cover
        raise TypeError(f"{model.__name__}.{related} is not a complex attribute")
    return top, _dump_order(item)


def _in_order(values: Mapping[str, Any], order: Mapping[str, int]) -> dict[str, Any] | None:
    if any(key not in order for key in values):
        return None
    return {key: values[key] for key in sorted(values, key=order.__getitem__)}


def render_stored(
    model: type[UserResource] | type[GroupResource],
    stored: Mapping[str, Any],
    scim_id: str,
    meta_values: Mapping[str, Any],
    related: str,
    items: Sequence[Mapping[str, Any]],
) -> dict[str, Any] | None:
    """The full representation of a stored resource, as :func:`render` gives it for any
    response context without ``attributes``/``excludedAttributes``, built without validating
    the payload again.

    ``stored`` is :func:`stored_form`'s output: a dump of a valid resource in a response
    context, so validating it and dumping it again only puts ``id``, ``meta`` (from
    :func:`meta_values`) and the ``related`` attribute's ``items`` in their places. Anything
    ``stored_form`` does not write (an attribute no schema declares, ``id``, ``meta``, the
    related attribute, an item's unknown or empty sub-attribute) answers ``None``: such a payload
    goes through :func:`render`."""
    top, item_order = _dump_orders(model, related)
    if "id" in stored or "meta" in stored or related in stored:
        return None
    merged: dict[str, Any] = {**stored, "id": scim_id, "meta": dict(meta_values)}
    if items:
        ordered = []
        for item in items:
            if any(value is None or value in ("", [], {}) for value in item.values()):
                return None
            ordered_item = _in_order(item, item_order)
            if ordered_item is None:
                return None
            ordered.append(ordered_item)
        merged[related] = ordered
    return _in_order(merged, top)


def meta_values(
    resource_type: str, created: datetime, last_modified: datetime, location: str, version: int
) -> dict[str, Any]:
    """A resource's ``meta`` as :func:`render` dumps the :func:`meta` it is given."""
    return {
        "resourceType": resource_type,
        "created": _DATETIME.dump_python(created, mode="json"),
        "lastModified": _DATETIME.dump_python(last_modified, mode="json"),
        "location": location,
        "version": etag(version),
    }


def meta(resource_type: str, created: Any, last_modified: Any, location: str, version: int) -> Meta:
    return Meta(
        resource_type=resource_type,
        created=created,
        last_modified=last_modified,
        location=location,
        version=etag(version),
    )


def etag(version: int) -> str:
    """A weak entity tag for a resource's version (RFC 7644 §3.14)."""
    return f'W/"{version}"'


def service_provider_config(documentation_uri: str | None = None) -> ServiceProviderConfig:
    """What the server supports (RFC 7643 §5): PATCH, filters, ETags; no bulk, no sorting,
    no password change; bearer-token authentication."""
    return ServiceProviderConfig(
        documentation_uri=documentation_uri,
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_RESULTS),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=True),
        authentication_schemes=[
            AuthenticationScheme(
                type="oauthbearertoken",
                name="OAuth Bearer Token",
                description="A SCIM token of the connection, sent as a bearer token",
                primary=True,
            )
        ],
    )


def resource_types() -> list[ResourceType]:
    return [
        ResourceType.from_resource(UserResource),
        ResourceType.from_resource(GroupResource),
    ]


def schemas() -> list[Schema]:
    return [User.to_schema(), EnterpriseUser.to_schema(), Group.to_schema()]


def first(values: Iterable[Any]) -> Any:
    for value in values:
        return value
    return None
