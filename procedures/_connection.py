"""How the Twilio book connects: its two connection methods, and asking Twilio whether a connection works.

The methods are data (`book.connections.ConnectionMethod`): the wizard, the environment lookup and the
reference are driven by them alone. `verify_connection` fetches the connection's account; the wizard calls
it, through the book, before it saves anything.

The SDK is imported inside `verify_connection` only, so loading the book never loads it.
"""

from __future__ import annotations

from typing import Any

from book.connections import AuthenticationError, Connection, ConnectionField, ConnectionMethod
from book.errors import BookError, ConnectionError_

__all__ = ["ACCOUNT_SID_AND_AUTH_TOKEN", "API_KEY", "TWILIO_METHODS", "verify_connection"]

_ACCOUNT_SID = ConnectionField(
    name="account_sid",
    label="Account SID",
    description="The Account SID from your Twilio account.",
    type="text",
    env="TWILIO_ACCOUNT_SID",
    pattern=r"AC[0-9a-fA-F]{32}",
    shape_hint="an Account SID is AC followed by 32 hexadecimal characters",
)

ACCOUNT_SID_AND_AUTH_TOKEN = ConnectionMethod(
    key="auth_token",
    title="Connect using Account SID and Auth Token",
    description="Connect to the Twilio API using account credentials.",
    fields=(
        _ACCOUNT_SID,
        ConnectionField(
            name="auth_token",
            label="Auth Token",
            description="The Auth Token from your Twilio account.",
            type="sensitive",
            env="TWILIO_AUTH_TOKEN",
            pattern=r"[0-9a-fA-F]{32}",
            shape_hint="an Auth Token is 32 hexadecimal characters",
        ),
    ),
)

API_KEY = ConnectionMethod(
    key="api_key",
    title="Connect using an API Key",
    description="Connect to the Twilio API using an API key and its secret.",
    fields=(
        _ACCOUNT_SID,
        ConnectionField(
            name="api_key_sid",
            label="API Key SID",
            description="The SID of an API key created in your Twilio account.",
            type="text",
            env="TWILIO_API_KEY",
            pattern=r"SK[0-9a-fA-F]{32}",
            shape_hint="an API Key SID is SK followed by 32 hexadecimal characters",
        ),
        ConnectionField(
            name="api_key_secret",
            label="API Key Secret",
            description="The secret shown once when the API key was created.",
            type="sensitive",
            env="TWILIO_API_SECRET",
            pattern=r"\S+",
            shape_hint="an API Key Secret has no spaces",
        ),
    ),
)

TWILIO_METHODS: tuple[ConnectionMethod, ...] = (ACCOUNT_SID_AND_AUTH_TOKEN, API_KEY)


def verify_connection(conn: Connection, http_client: Any = None) -> str:
    """Fetch the connection's account from Twilio (or `conn.api_url`); return its friendly name.

    Bad credentials raise AuthenticationError with Twilio's code (20003); any other failure raises
    ConnectionError_ with the reason. No message contains a secret.
    """
    from twilio.base.exceptions import TwilioRestException

    from procedures._twilio import client_for

    if http_client is None:
        from procedures.http import BookHttpClient

        http_client = BookHttpClient(conn.api_url, max_attempts=3)  # a quick answer for the wizard
    where = conn.api_url or "https://api.twilio.com"
    try:
        client = client_for(conn, http_client)
        account = client.api.v2010.accounts(client.account_sid).fetch()
    except TwilioRestException as e:
        if e.code == 20003 or e.status == 401:
            what = "API Key SID and API Key Secret" if conn.method == API_KEY.key else "Account SID and Auth Token"
            raise AuthenticationError(
                f"authentication failed: {_code(e.code, e.status)} for {conn}; check the {what}",
                code=e.code,
            ) from None
        detail = conn.masked(str(e.msg))
        raise ConnectionError_(
            f"could not verify {conn}: {where} answered {_code(e.code, e.status)}" + (f": {detail}" if detail else "")
        ) from None
    except BookError as e:
        raise ConnectionError_(f"could not verify {conn}: {conn.masked(str(e))}") from None
    except Exception as e:  # TwilioException, requests' and socket errors: the reason, never a traceback
        reason = f"{type(e).__name__}: {e}" if str(e).strip() else type(e).__name__
        raise ConnectionError_(f"could not reach {where} to verify {conn}: {conn.masked(reason)}") from None
    return account.friendly_name or conn.identity


def _code(code: int | None, status: int | None) -> str:
    return f"Twilio error {code} (HTTP {status})" if code else f"HTTP {status}"
