"""The boundary with the twilio SDK: making a client from a connection, and turning its errors into the book's.

The SDK is imported inside these functions only, so listing or checking procedures never loads it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from twilio.rest import Client

    from book.connections import Connection
    from book.errors import DeliveryUnknownError, RemoteError


def make_client(connection: Connection) -> Client:
    """A twilio `Client` for a connection (a stored one, the environment's, or the sandbox's) whose every
    request goes through the book's one HTTP client: the API Key SID is the user name when there is one,
    else the Account SID; the password is the connection's secret. `TWILIO_BOOK_TIMEOUT` (seconds, default
    30) is how long it waits for an answer."""
    from procedures.http import BookHttpClient

    return client_for(connection, BookHttpClient(connection.api_url, timeout=timeout()))


def timeout(env: Mapping[str, str] = os.environ) -> float:
    """Seconds the client waits to connect and for each answer: `TWILIO_BOOK_TIMEOUT`, else 30."""
    from book.errors import ConnectionError_
    from procedures._app import APP

    name = APP.env("TIMEOUT")
    text = env.get(name, "").strip()
    if not text:
        return 30.0
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds <= 3600:
        raise ConnectionError_(f"{name} is {text!r}: give the seconds to wait for Twilio, like 30 or 2.5 "
                               "(more than 0, at most 3600)")
    return seconds


def credentials(connection: Connection) -> tuple[str, str, str]:
    """`(username, password, account_sid)` as the SDK takes them: the API Key SID and its secret when the
    connection has them, else the Account SID and the Auth Token."""
    values = connection.values
    account_sid = connection.value("account_sid")
    username = connection.value("api_key_sid") if "api_key_sid" in values else account_sid
    password = connection.value("api_key_secret" if "api_key_secret" in values else "auth_token")
    return username, password, account_sid


def client_for(connection: Connection, http_client: Any) -> Client:
    """A twilio `Client` for `connection` sending through `http_client`."""
    from twilio.rest import Client

    username, password, account_sid = credentials(connection)
    return Client(username, password, account_sid=account_sid, http_client=http_client)


@contextmanager
def twilio_errors(doing: str, *, write: bool = False) -> Iterator[None]:
    """Turn the SDK's `TwilioRestException` into the book's `RemoteError` (code, message, more-info link).

    For a `write` (a send, a delete), an error on Twilio's side (HTTP 5xx) is a `DeliveryUnknownError`: it
    may have been done all the same, so the user is told to check before trying again (nothing was resent).
    """
    from twilio.base import exceptions

    try:
        yield
    except exceptions.TwilioRestException as err:
        if write and isinstance(err.status, int) and err.status >= 500:
            raise _unknown(doing, err.msg, err.status, err.code) from None
        raise _remote(doing, err.msg, err.status, err.code) from None
    except getattr(exceptions, "TwilioServiceException", exceptions.TwilioRestException) as err:
        raise _remote(doing, getattr(err, "detail", None) or getattr(err, "title", ""), err.status, err.code) from None
    except exceptions.TwilioException as err:
        # A failed list page comes back as TwilioException("Unable to fetch page", response).
        raise _from_response(doing, err) from None


def _from_response(doing: str, err: Exception) -> RemoteError:
    import json

    response = err.args[1] if len(err.args) > 1 else None
    status = getattr(response, "status_code", None)
    try:
        body = json.loads(getattr(response, "text", "") or "{}")
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    message = body.get("message") or (err.args[0] if err.args else "the request failed")
    if body.get("detail") and body.get("detail") != message:
        message = f"{message}: {body['detail']}"
    return _remote(doing, str(message), body.get("status", status), body.get("code"))


def _remote(doing: str, message: str | None, status: Any, code: Any) -> RemoteError:
    from procedures.http import TwilioError

    # The SDK keeps Twilio's code but not its more_info link, which is always the code's error page.
    more_info = f"https://www.twilio.com/docs/errors/{code}" if code else None
    return TwilioError(f"Twilio refused to {doing}: {_clean(message) or 'the request was refused'}",
                       status=status, code=code, more_info=more_info)


def _unknown(doing: str, message: str | None, status: int, code: Any) -> DeliveryUnknownError:
    from book.errors import DeliveryUnknownError

    said = _clean(message)
    return DeliveryUnknownError(
        f"Twilio answered HTTP {status} to {doing}" + (f" ({said})" if said else "")
        + ": an error on its side, so it may have been done all the same. It was not resent. Check whether it "
        "was, before trying again", status=status, code=code if isinstance(code, int) else None,
    )


def _clean(message: str | None) -> str:
    if not message:
        return ""
    # The SDK prefixes "Unable to create record: "; the book says what it was doing itself.
    for prefix in ("Unable to create record: ", "Unable to fetch record: ", "Unable to fetch page: ", "Unable to delete record: "):
        message = message.removeprefix(prefix)
    return message.strip()
