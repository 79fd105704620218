"""The Account resource: `GET /2010-04-01/Accounts/{Sid}.json` (used to check credentials)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.clock import rfc2822
from sandbox.resource import API_VERSION, account_base, require_account
from sandbox.store import Store

# The subresources Twilio lists on an account, by name and path.
_SUBRESOURCES = {
    "addresses": "Addresses", "applications": "Applications", "authorized_connect_apps": "AuthorizedConnectApps",
    "available_phone_numbers": "AvailablePhoneNumbers", "balance": "Balance", "calls": "Calls",
    "conferences": "Conferences", "connect_apps": "ConnectApps", "incoming_phone_numbers": "IncomingPhoneNumbers",
    "keys": "Keys", "messages": "Messages", "notifications": "Notifications",
    "outgoing_caller_ids": "OutgoingCallerIds", "queues": "Queues", "recordings": "Recordings",
    "short_codes": "SMS/ShortCodes", "signing_keys": "SigningKeys", "sip": "SIP",
    "transcriptions": "Transcriptions", "usage": "Usage",
}


def account_json(store: Store, principal: str) -> dict[str, Any]:
    """The account as Twilio's `api.v2010.account` schema describes it."""
    account = store.account
    base = account_base(account.sid)
    return {
        # Twilio shows the auth token to the account itself, not to an API key.
        "auth_token": account.auth_token if principal == account.sid else None,
        "date_created": rfc2822(account.created_us),
        "date_updated": rfc2822(account.created_us),
        "friendly_name": account.friendly_name,
        "owner_account_sid": account.sid,
        "sid": account.sid,
        "status": "active",
        "subresource_uris": {name: f"{base}/{path}.json" for name, path in _SUBRESOURCES.items()},
        "type": "Full",
        "uri": f"{base}.json",
    }


async def fetch_account(request: Request) -> Response:
    """GET /2010-04-01/Accounts/{Sid}.json"""
    store = require_account(request, "Sid")
    return JSONResponse(account_json(store, request.state.principal))


ROUTES = [Route(f"/{API_VERSION}/Accounts/{{Sid}}.json", fetch_account, methods=["GET"])]
