"""The SCIM 2.0 client the engine pushes with: scim2-client's request building and response
checking, over the same injectable ``httpx`` client factory the Express Configure client uses.

scim2-client 0.13 ships engines for ``httpx2`` only; :class:`HttpxEngine` is the few lines that
fit it to ``httpx``, so production has one HTTP stack and tests serve a fake app through
``httpx.MockTransport`` or the real tenant through ``httpx.ASGITransport``.

Every failure becomes a :class:`ScimFailure` that says whether retrying may help (the network,
a 5xx, a 429, and the wait the app asked for) or not (any other 4xx, with the SCIM error's
``detail``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar, cast

import httpx
from scim2_client.client import BaseSyncSCIMClient
from scim2_client.errors import RequestNetworkException, SCIMClientException
from scim2_models import (
    Email,
    Group,
    GroupMember,
    ListResponse,
    Name,
    PatchOp,
    PatchOperation,
    Resource,
    SCIMException,
    ScimProvider,
    SearchRequest,
    User,
)

from expressway.workforce.provisioning import backoff
from expressway.workforce.provisioning.targets import ScimTarget

T = TypeVar("T")
if TYPE_CHECKING:
    #: scim2-models' User, without an extension.
    ScimUser = User[Any]

SCIM_MEDIA_TYPE = "application/scim+json"
#: The page size of existence checks and imports, Okta's.
PAGE_SIZE = 100
#: An import reads at most this many pages: a server whose paging never ends stops here.
MAX_PAGES = 1000
NOT_FOUND = 404
CONFLICT = 409
TOO_MANY_REQUESTS = 429


# The bare model, as scim2-client matches a patch to its resource type by the model itself.
_UserPatch = PatchOp[User]  # type: ignore[type-arg]
_UserOperation = PatchOperation[User]  # type: ignore[type-arg]


class ScimFailure(Exception):
    """A SCIM call that did not succeed; ``status`` is ``None`` when no answer came."""

    def __init__(
        self,
        reason: str,
        *,
        status: int | None,
        retryable: bool,
        retry_after: timedelta | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after


class HttpxEngine(BaseSyncSCIMClient):
    """scim2-client over an ``httpx.Client``; paths are resolved under ``base_url``."""

    def __init__(self, client: httpx.Client, base_url: str, token: str) -> None:
        super().__init__(provider=ScimProvider(models=[User, Group]))
        self.client = client
        self.base_url = httpx.URL(base_url.rstrip("/") + "/")
        self._token = token

    def _url(self, endpoint: str) -> httpx.URL:
        return self.base_url.join(endpoint.lstrip("/"))

    def _stays_under_base_url(self, endpoint: str) -> bool:
        try:
            url = self._url(endpoint)
        except httpx.InvalidURL:
            return False
        return (
            url.scheme == self.base_url.scheme
            and url.netloc == self.base_url.netloc
            and url.raw_path.startswith(self.base_url.raw_path)
        )

    def _parse_json(self, response: Any) -> Any:
        return cast(httpx.Response, response).json()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self._token}", "Accept": SCIM_MEDIA_TYPE}
        body = kwargs.pop("json", None)
        if body is not None:
            kwargs["content"] = json.dumps(body, separators=(",", ":")).encode()
            headers["Content-Type"] = SCIM_MEDIA_TYPE
        try:
            return self.client.request(method, self._url(url), headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise RequestNetworkException(message=f"{type(exc).__name__}: {exc}") from exc


def _detail(exc: Exception) -> str:
    error = getattr(exc, "error", None)
    detail = getattr(error, "detail", None)
    if isinstance(detail, str) and detail:
        return detail
    return str(exc) or type(exc).__name__


def _failure(exc: Exception, now: datetime) -> ScimFailure:
    if isinstance(exc, RequestNetworkException):
        return ScimFailure(f"the app did not answer ({exc.message})", status=None, retryable=True)
    response = getattr(exc, "source", None)
    if not isinstance(response, httpx.Response):
        return ScimFailure(
            f"the app's answer is not usable: {_detail(exc)}", status=None, retryable=False
        )
    status = response.status_code
    detail = _detail(exc)
    if status == TOO_MANY_REQUESTS or status >= 500:
        wait = backoff.retry_after(response.headers.get("retry-after"), now)
        return ScimFailure(
            f"the app answered {status}: {detail}", status=status, retryable=True, retry_after=wait
        )
    if status == CONFLICT:
        return ScimFailure(f"the app answered 409: {detail}", status=status, retryable=True)
    if 200 <= status < 300:
        return ScimFailure(
            f"the app's answer is not usable: {detail}", status=status, retryable=False
        )
    return ScimFailure(f"the app answered {status}: {detail}", status=status, retryable=False)


class ScimApp:
    """One app's SCIM service, for the length of one job, over ``http`` (which it does not
    close: the worker lane's client, whose connections serve job after job)."""

    def __init__(
        self, target: ScimTarget, http: httpx.Client, clock: Callable[[], datetime]
    ) -> None:
        self._target = target
        self._http = http
        self._now = clock
        self._scim: HttpxEngine | None = None

    def _engine(self) -> HttpxEngine:
        # Built on first use and kept for the job: scim2-client's provider is built with it.
        if self._scim is None:
            self._scim = HttpxEngine(self._http, self._target.base_url, self._target.token)
        return self._scim

    def _call(self, action: Callable[[HttpxEngine], T]) -> T:
        try:
            return action(self._engine())
        except (SCIMClientException, SCIMException) as exc:
            raise _failure(exc, self._now()) from exc

    # --- users ---------------------------------------------------------------------------

    def find_user(self, user_name: str) -> ScimUser | None:
        """Okta's existence check: ``GET /Users?filter=userName eq "…"&startIndex=1&count=100``."""
        found = self._call(
            lambda scim: scim.query(
                User,
                SearchRequest(
                    filter=f"userName eq {_quoted(user_name)}", start_index=1, count=PAGE_SIZE
                ),
            )
        )
        return _first(found, User)

    def create_user(self, user: ScimUser) -> ScimUser:
        return _one(self._call(lambda scim: scim.create(user)), User)

    def replace_user(self, scim_id: str, user: ScimUser) -> ScimUser:
        replacement = user.model_copy(update={"id": scim_id})
        return _one(self._call(lambda scim: scim.replace(replacement)), User)

    def set_active(self, scim_id: str, active: bool) -> None:
        """Okta's path-less ``PATCH {"op": "replace", "value": {"active": …}}``."""
        patch = _UserPatch(operations=[_UserOperation(op="replace", value={"active": active})])
        self._call(lambda scim: scim.modify(User, scim_id, patch))

    def list_users(self, start_index: int, count: int = PAGE_SIZE) -> ListResponse[Any]:
        page = self._call(
            lambda scim: scim.query(User, SearchRequest(start_index=start_index, count=count))
        )
        if not isinstance(page, ListResponse):
            raise ScimFailure(
                "the app's user list is not a ListResponse", status=None, retryable=False
            )
        return page

    # --- groups --------------------------------------------------------------------------

    def find_group(self, display_name: str) -> Group | None:
        found = self._call(
            lambda scim: scim.query(
                Group,
                SearchRequest(
                    filter=f"displayName eq {_quoted(display_name)}",
                    start_index=1,
                    count=PAGE_SIZE,
                ),
            )
        )
        return _first(found, Group)

    def create_group(self, display_name: str) -> Group:
        group = Group(display_name=display_name, members=[])
        return _one(self._call(lambda scim: scim.create(group)), Group)

    def rename_group(self, scim_id: str, display_name: str) -> None:
        patch = PatchOp[Group](
            operations=[PatchOperation[Group](op="replace", path="displayName", value=display_name)]
        )
        self._call(lambda scim: scim.modify(Group, scim_id, patch))

    def add_members(self, scim_id: str, members: list[tuple[str, str]]) -> None:
        """``PATCH`` ``add`` to ``members``, each as ``{"value": scim id, "display": name}``."""
        patch = PatchOp[Group](
            operations=[
                PatchOperation[Group](
                    op="add",
                    path="members",
                    value=[GroupMember(value=value, display=display) for value, display in members],
                )
            ]
        )
        self._call(lambda scim: scim.modify(Group, scim_id, patch))

    def remove_member(self, scim_id: str, member_id: str) -> None:
        """``PATCH`` ``remove`` with the path ``members[value eq "…"]``, as Okta sends it."""
        patch = PatchOp[Group](
            operations=[
                PatchOperation[Group](op="remove", path=f"members[value eq {_quoted(member_id)}]")
            ]
        )
        self._call(lambda scim: scim.modify(Group, scim_id, patch))

    def delete_group(self, scim_id: str) -> None:
        self._call(lambda scim: scim.delete(Group, scim_id))


def _quoted(value: str) -> str:
    """A SCIM filter string literal (RFC 7644 §3.4.2.2: JSON string syntax)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


R = TypeVar("R", bound=Resource[Any])


def _first(found: object, model: type[R]) -> R | None:
    if not isinstance(found, ListResponse):
        raise ScimFailure(
            "the app's search answer is not a ListResponse", status=None, retryable=False
        )
    for resource in found.resources or []:
        if isinstance(resource, model) and resource.id:
            return resource
    return None


def _one(answer: object, model: type[R]) -> R:
    if not isinstance(answer, model) or not answer.id:
        raise ScimFailure(
            f"the app answered without a {model.__name__} id", status=None, retryable=False
        )
    return answer


def user_resource(
    *, user_name: str, first_name: str, last_name: str, email: str, external_id: str, active: bool
) -> ScimUser:
    """The user as Okta sends it: ``userName``, ``name``, one primary work e-mail,
    ``displayName``, ``externalId`` (the workforce user id) and ``active``."""
    return User(
        user_name=user_name,
        name=Name(given_name=first_name, family_name=last_name),
        emails=[Email(primary=True, value=email, type=Email.Type.work)],
        display_name=f"{first_name} {last_name}".strip(),
        external_id=external_id,
        active=active,
    )
