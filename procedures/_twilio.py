"""The boundary with the twilio SDK: making a client from a connection, and turning its errors into the book's.

The SDK is imported inside these functions only, so listing or checking procedures never loads it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

from book.errors import RemoteError

if TYPE_CHECKING:
    from twilio.rest import Client


class Credentials(Protocol):
    """What a client needs from a connection (a stored one, the environment's, or the sandbox's)."""

    @property
    def username(self) -> str: ...
    @property
    def password(self) -> str: ...
    @property
    def account_sid(self) -> str: ...
    @property
    def api_url(self) -> str | None: ...


def make_client(credentials: Credentials) -> Client:
    """A twilio `Client` whose every request goes through the book's one HTTP client."""
    from twilio.rest import Client

    from book.http import BookHttpClient

    return Client(
        credentials.username,
        credentials.password,
        account_sid=credentials.account_sid,
        http_client=BookHttpClient(credentials.api_url),
    )


@contextmanager
def twilio_errors(doing: str) -> Iterator[None]:
    """Turn the SDK's `TwilioRestException` into the book's `RemoteError` (code, message, more-info link)."""
    from twilio.base import exceptions

    try:
        yield
    except exceptions.TwilioRestException as err:
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
    # The SDK keeps Twilio's code but not its more_info link, which is always the code's error page.
    more_info = f"https://www.twilio.com/docs/errors/{code}" if code else None
    return RemoteError(f"Twilio refused to {doing}: {_clean(message) or 'the request was refused'}",
                       status=status, code=code, more_info=more_info)


def _clean(message: str | None) -> str:
    if not message:
        return ""
    # The SDK prefixes "Unable to create record: "; the book says what it was doing itself.
    for prefix in ("Unable to create record: ", "Unable to fetch record: ", "Unable to fetch page: ", "Unable to delete record: "):
        message = message.removeprefix(prefix)
    return message.strip()
