"""A request to any path of the Twilio API: its checked inputs, and the `twilio api response` concept.

The path is checked before anything is sent: it must stay on the API host, so an absolute URL, a
path starting `//`, a `..` segment (plain or percent-encoded), an encoded slash, a backslash or a
space is refused. Headers, query and body are JSON objects written as text.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal
from urllib.parse import unquote

from pydantic import AfterValidator, BeforeValidator

from book.concept import Concept

ACCOUNT_SID = "{AccountSid}"
"""The placeholder of a path that stands for the connection's account SID."""

_PLACEHOLDER = re.compile(r"\{\{?\s*([A-Za-z_]\w*)\s*\}?\}")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.\-]*:", re.I)
_EXAMPLE = "/2010-04-01/Accounts/{AccountSid}/Messages.json"
_RESERVED_HEADERS = {"authorization", "host", "content-length", "cookie"}


def check_api_path(value: str) -> str:
    """A path on the API host (a leading / is added if missing); `{AccountSid}` is kept for the connection's."""
    path = value.strip()
    if not path:
        raise ValueError(f"the path is empty; write the part after https://api.twilio.com, like {_EXAMPLE}")
    if _SCHEME.match(path) or path.startswith(("//", "\\")):
        raise ValueError(
            f"{path!r} is not a path on the Twilio API host: the book sends API calls only to api.twilio.com; "
            f"write the part after the host, like {_EXAMPLE}"
        )
    path = "/" + path.lstrip("/") if not path.startswith("/") else path
    if any(ch.isspace() or ord(ch) < 32 or ch == "\\" for ch in path):
        raise ValueError(f"the path {path!r} has a space, a backslash or a control character; "
                         "encode it (%20 for a space)")
    if "?" in path or "#" in path:
        raise ValueError("put the query string in 'the query' (a JSON object, like {\"PageSize\": 20}), "
                         "not in the path")
    unknown = sorted({m.group(1) for m in _PLACEHOLDER.finditer(path) if m.group(1).lower() != "accountsid"})
    if unknown:
        raise ValueError(f"the path has the placeholder {{{unknown[0]}}}, which the book does not know; "
                         f"only {ACCOUNT_SID} is filled in")
    path = _PLACEHOLDER.sub(ACCOUNT_SID, path)
    decoded = unquote(unquote(path))  # twice, so %252e%252e is caught as well as %2e%2e
    if "%2f" in path.lower() or "%5c" in path.lower() or decoded.count("/") != path.count("/"):
        raise ValueError("the path has an encoded slash or backslash; write the path's slashes as they are")
    if any(segment in (".", "..") for segment in decoded.split("/")) or "//" in decoded:
        raise ValueError(f"the path {path!r} has an empty, '.' or '..' segment; write the resource's path itself")
    return path


def _json_object(value: str, what: str, example: str) -> dict[str, Any]:
    try:
        parsed = json.loads(value) if value.strip() else {}
    except ValueError as err:
        raise ValueError(f"the {what} are not JSON ({err}); write an object like {example}") from None
    if not isinstance(parsed, dict):
        raise ValueError(f"the {what} must be a JSON object of names and values, like {example}")
    return parsed


def parse_headers(value: str) -> dict[str, str]:
    """The headers text as a dict of text values; the connection's own headers can't be set."""
    headers = _json_object(value, "headers", '{"Accept": "application/json"}')
    out: dict[str, str] = {}
    for name, item in headers.items():
        if name.strip().lower() in _RESERVED_HEADERS:
            raise ValueError(f"the header {name!r} is set by the book (the connection authorises every call); "
                             "leave it out")
        if isinstance(item, bool) or not isinstance(item, (str, int, float)):
            raise ValueError(f"the header {name!r} is {json.dumps(item)}; a header's value is a text or a number")
        out[name] = str(item)
    return out


def parse_parameters(value: str, what: str) -> dict[str, Any]:
    """Query or form parameters: each value a text, number or boolean, or a list of them (a repeated name).

    Booleans are written as Twilio's `true`/`false`; a null value leaves the parameter out.
    """
    parameters = _json_object(value, what, '{"To": "+18004446666", "MediaUrl": ["https://example.com/a.png"]}')
    out: dict[str, Any] = {}
    for name, item in parameters.items():
        items = item if isinstance(item, list) else [item]
        if any(isinstance(x, (dict, list)) for x in items):
            raise ValueError(f"the {what} parameter {name!r} is nested; "
                             "use a text, a number, true/false or a list of them")
        values = [_form_value(x) for x in items if x is not None]
        if values:
            out[name] = values if isinstance(item, list) else values[0]
    return out


def _form_value(item: Any) -> str:
    if isinstance(item, bool):
        return "true" if item else "false"
    return str(item)


def _check_headers(value: str) -> str:
    parse_headers(value)
    return value


def _check_query(value: str) -> str:
    parse_parameters(value, "query")
    return value


def _check_body(value: str) -> str:
    parse_parameters(value, "body")
    return value


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


ApiMethod = Annotated[Literal["GET", "POST", "PUT", "PATCH", "DELETE"], BeforeValidator(_upper)]
ApiPath = Annotated[str, AfterValidator(check_api_path)]
ApiHeaders = Annotated[str, AfterValidator(_check_headers)]
ApiQuery = Annotated[str, AfterValidator(_check_query)]
ApiBody = Annotated[str, AfterValidator(_check_body)]


class TwilioApiResponse(Concept):
    """API response data model.

    What Twilio answered to a request made with 'make a Twilio API call': the HTTP status, the
    response headers, and the body, parsed when it is JSON.
    """

    concept_name = "twilio api response"

    status: int
    """The HTTP status code of the response, such as 200 (OK), 201 (created) or 204 (deleted, no body)."""
    headers: dict[str, str] = {}
    """The response's HTTP headers, by name."""
    body: Any = None
    """The response's body: the parsed JSON (an object or a list) when Twilio sent JSON, otherwise its text; none for 204."""
