"""Shared values and fakes for the connection tests."""

from __future__ import annotations

import json
import logging
from typing import Any

from twilio.http import HttpClient
from twilio.http.response import Response

from book.connections import Connection
from procedures._connection import ACCOUNT_SID_AND_AUTH_TOKEN

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "fedcba9876543210" * 2
KEY_SID = "SK" + "00112233445566778899aabbccddeeff"
KEY_SECRET = "s3cretKeyS3cretKeyS3cretKeyS3cr"


def token_connection(name: str = "work", **kw: Any) -> Connection:
    return ACCOUNT_SID_AND_AUTH_TOKEN.connection(name, {"account_sid": SID, "auth_token": TOKEN}, **kw)


class FakeTwilio(HttpClient):
    """A Twilio SDK HttpClient that answers every request with one canned response, and records requests."""

    def __init__(self, status: int = 200, body: dict[str, Any] | None = None, raises: Exception | None = None):
        super().__init__(logging.getLogger("fake-twilio"), is_async=False)
        self.status, self.body, self.raises = status, body if body is not None else {}, raises
        self.requests: list[tuple[str, str, Any]] = []

    def request(self, method, uri, params=None, data=None, headers=None, auth=None, timeout=None,
                allow_redirects=False) -> Response:
        self.requests.append((method, uri, auth))
        if self.raises is not None:
            raise self.raises
        return Response(self.status, json.dumps(self.body))


def account_body(friendly: str = "Test Account") -> dict[str, Any]:
    return {"sid": SID, "friendly_name": friendly, "status": "active", "auth_token": TOKEN}
