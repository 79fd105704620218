"""Make an API call: a request to any path of the Twilio API, authorised by the connection."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from book.errors import InputError
from concepts.api import (
    ACCOUNT_SID,
    ApiBody,
    ApiHeaders,
    ApiMethod,
    ApiPath,
    ApiQuery,
    TwilioApiResponse,
    parse_headers,
    parse_parameters,
)
from procedures._book import procedure
from procedures._twilio import twilio_errors

if TYPE_CHECKING:
    from twilio.rest import Client

API_HOST = "api.twilio.com"
_NO_BODY = ("GET", "DELETE")


@procedure("to make a *Twilio* API call")
def make_api_call(
    client: Client,
    method: ApiMethod,
    path: ApiPath,
    headers: ApiHeaders | None = None,
    query: ApiQuery | None = None,
    body: ApiBody | None = None,
) -> TwilioApiResponse:
    r"""Send a request to any path of the Twilio API, for what the book has no procedure for.

    The request goes to the path on https://api.twilio.com, authorised by the connection (no
    Authorization header to add); {AccountSid} in the path is the connection's account SID. A path
    that would leave the API host (an absolute URL, //host, .. segments) is refused before anything is
    sent. The body's parameters are sent form-encoded, as the 2010-04-01 API takes them. A response
    with an error status (400 and above) stops the automation with Twilio's error.

    Input Concepts:
        the method: The HTTP method: GET to read, POST to create or update, PUT to replace, PATCH to update in part, DELETE to delete
        the path: The path after https://api.twilio.com, like /2010-04-01/Accounts/{AccountSid}/Messages.json
        the headers: More request headers as a JSON object, like {"Accept-Language": "en"}
        the query: The query string's parameters as a JSON object, like {"PageSize": 20}; a list value repeats the name
        the body: The body's parameters as a JSON object, like {"To": "+18004446666", "Body": "Hi"}; a list value repeats the name

    Output Concepts:
        twilio api response: The response: its status, headers and body (parsed when it is JSON)

    Example 1:
        List the SMS messages of the account, 20 to a page

        >>> make a Twilio API call where
        ...   the method is "GET"
        ...   the path is "/2010-04-01/Accounts/{AccountSid}/Messages.json"
        ...   the query is "{\"PageSize\": 20}"

    Example 2:
        Send an SMS message

        >>> make a Twilio API call where
        ...   the method is "POST"
        ...   the path is "2010-04-01/Accounts/{AccountSid}/Messages.json"
        ...   the body is "{\"To\": \"+18004446666\", \"From\": \"+18004445555\", \"Body\": \"Hello!\"}"
    """
    url = f"https://{API_HOST}{path.replace(ACCOUNT_SID, client.account_sid)}"
    if urlsplit(url).hostname != API_HOST:  # check_api_path keeps this from happening; never send if it did
        raise InputError(f"the path {path!r} leaves the Twilio API host; nothing was sent")
    if body is not None and method in _NO_BODY:
        raise InputError(f"a {method} request has no body; put its parameters in the query; nothing was sent")
    extra = parse_headers(headers) if headers is not None else {}
    params = parse_parameters(query, "query") if query is not None else None
    data = parse_parameters(body, "body") if body is not None else None
    with twilio_errors(f"make the API call {method} {path}"):
        response = client.request(method, url, params=params, data=data, headers=extra)
        if response.status_code >= 400:
            from twilio.base.exceptions import TwilioException

            raise TwilioException(f"HTTP {response.status_code}", response)  # twilio_errors reads Twilio's error body
    return TwilioApiResponse(
        status=response.status_code,
        headers={str(name): str(value) for name, value in (response.headers or {}).items()},
        body=_body(response.text, (response.headers or {}).get("Content-Type", "")),
    )


def _body(text: str, content_type: str) -> Any:
    """JSON parsed when the response says (or looks like) it is JSON; otherwise the text; None if empty."""
    if not text:
        return None
    if "json" in content_type.lower() or text.lstrip()[:1] in ("{", "["):
        try:
            return json.loads(text)
        except ValueError:
            pass
    return text

