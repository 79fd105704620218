"""What every resource module shares: the API version, path prefix, store access, form parsing, list bodies."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse

from sandbox.api_errors import authenticate
from sandbox.paging import Keyed, PageRequest, envelope
from sandbox.store import Store

API_VERSION = "2010-04-01"
ACCOUNT_PREFIX = f"/{API_VERSION}/Accounts/{{AccountSid}}"
"""Route prefix of every account-scoped v2010 resource."""


def account_base(account_sid: str) -> str:
    """`/2010-04-01/Accounts/AC...`, the start of every URI the account's resources report."""
    return f"/{API_VERSION}/Accounts/{account_sid}"


def store_of(request: Request) -> Store:
    """The store behind this request's app."""
    store: Store = request.app.state.store
    return store


def require_account(request: Request, param: str = "AccountSid") -> Store:
    """The store, after checking the account SID in the path is the authenticated account's."""
    store = store_of(request)
    if request.path_params.get(param) != store.account_sid:
        raise authenticate()
    return store


async def read_form(request: Request) -> dict[str, list[str]]:
    """The urlencoded request body as name -> values (repeated names such as MediaUrl keep every value)."""
    body = (await request.body()).decode("utf-8", errors="replace")
    form: dict[str, list[str]] = {}
    for name, value in parse_qsl(body, keep_blank_values=True):
        form.setdefault(name, []).append(value)
    return form


def first(form: dict[str, list[str]], name: str) -> str | None:
    """The first value of a form field, or None when absent."""
    values = form.get(name)
    return values[0] if values else None


def is_true(value: str | None) -> bool:
    """Twilio's form booleans: `true` (any case) is true, anything else false."""
    return value is not None and value.lower() == "true"


def echoed(request: Request, names: Sequence[str]) -> list[tuple[str, str]]:
    """The filters among `names` this request gave (not empty), in that order: the page URIs repeat them."""
    query = request.query_params
    return [(name, query[name]) for name in names if query.get(name)]


def list_response(
    request: Request,
    *,
    key: str,
    page: PageRequest,
    rows: Sequence[Keyed],
    items: list[dict[str, Any]],
    has_more: bool,
    filters: Sequence[str] = (),
) -> ListResponse:
    """One page of a v2010 list, in Twilio's envelope (see `envelope`): `items` (the JSON of `rows`) under `key`.

    `filters` names the query parameters the list takes; those given are repeated in the page URIs.
    """
    return ListResponse(envelope(key=key, path=request.url.path, filters=echoed(request, filters), request=page,
                                 rows=rows, items=items, has_more=has_more))


class ListResponse(JSONResponse):
    """A list's JSON, written by orjson: the very bytes `JSONResponse` writes (compact, UTF-8), about twenty
    times as fast, which is most of a long page's cost. What orjson can't write (an integer past 64 bits)
    is written by `JSONResponse`."""

    def render(self, content: Any) -> bytes:
        import orjson

        try:
            return orjson.dumps(content)
        except TypeError:  # orjson.JSONEncodeError is one
            return super().render(content)
