"""Is a webhook request from Twilio? Check its `X-Twilio-Signature` with the SDK's `RequestValidator`.

Twilio signs each request with the account's Auth Token: HMAC-SHA1 over the full URL it called
followed by every POST parameter (sorted by name, each name then its value), base64-encoded. The URL
must be the one Twilio called: behind a proxy or a tunnel the listener sees another host, scheme and
port, so the check rebuilds the URL from the public base URL the listener was given.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from book.errors import ConnectionError_

if TYPE_CHECKING:
    from twilio.request_validator import RequestValidator

SIGNATURE_HEADER = "X-Twilio-Signature"
_URLS_KEPT = 256
"""How many URLs a check keeps the variants of (a listener is called on a few: its endpoints, a proxy's)."""


class Params(dict[str, list[str]]):
    """Form parameters, each name with all its values, in the shape `RequestValidator` reads (`getall`)."""

    def getall(self, name: str) -> list[str]:
        return self[name]

    def first(self, name: str) -> str | None:
        values = self.get(name)
        return values[0] if values else None

    @classmethod
    def of(cls, pairs: Sequence[tuple[str, str]]) -> Params:
        params = cls()
        for name, value in pairs:
            params.setdefault(name, []).append(value)
        return params


def check_public_url(url: str) -> str:
    """The public base URL without a trailing slash; `ConnectionError_` when it is not an http(s) base URL.

    A user name or password in it is refused, and never repeated: the listener checks signatures, not
    passwords, and prints its URLs.
    """
    try:
        parts = urlsplit(url)
        credentials = "@" in parts.netloc
        hostname = parts.hostname
        _ = parts.port  # a port past 65535 raises ValueError
    except ValueError:  # an unclosed [IPv6 address, a port past 65535
        parts, credentials, hostname = None, "@" in url, None
    if credentials:
        raise ConnectionError_(
            "the public URL has a user name or password in it (before an @): the listener checks each request's "
            "signature, not a password, and would print it with every URL; give the URL without them, "
            "like https://example.ngrok.app"
        )
    if parts is None or parts.scheme not in ("http", "https") or not hostname or parts.query or parts.fragment:
        raise ConnectionError_(
            f"the public URL{'' if '@' in url else f' {url!r}'} is not a base URL like https://example.ngrok.app; "
            "give the scheme and host Twilio calls (and a path prefix, if your proxy adds one)"
        )
    return url.rstrip("/")


@dataclass(frozen=True)
class SignatureCheck:
    """Checks requests against an Auth Token; `public_url` is the base URL Twilio calls, when not the local one."""

    auth_token: str = field(repr=False)
    public_url: str | None = None

    def url_called(self, local_url: str) -> str:
        """The URL Twilio called: the request's path and query on the public base URL, if there is one."""
        if self.public_url is None:
            return local_url
        parts = urlsplit(local_url)
        return self.public_url + parts.path + (f"?{parts.query}" if parts.query else "")

    def valid(self, local_url: str, params: Mapping[str, list[str]], signature: str | None) -> bool:
        """Whether `signature` is Twilio's for this request; a missing signature is never valid.

        As the SDK's `RequestValidator.validate` (with its `compute_signature`), the URL called is accepted
        with and without its port (Twilio signs either); here the one as called is tried first, the other
        only when it does not match. Each comparison takes the same time whatever the signature.
        """
        if not signature:
            return False
        given = signature.encode("utf-8", "surrogateescape")
        return any(hmac.compare_digest(self._validator.compute_signature(url, params).encode(), given)
                   for url in self._variants(local_url))

    def _variants(self, local_url: str) -> tuple[str, str]:
        """The URL called, as called and with its port added or removed (as the SDK's `validate`); made once
        per URL (a listener is called on a handful)."""
        variants = self._made.get(local_url)
        if variants is None:
            from twilio.request_validator import add_port, remove_port

            called = urlsplit(self.url_called(local_url))
            variants = (add_port(called), remove_port(called)) if called.port else (remove_port(called), add_port(called))
            if len(self._made) >= _URLS_KEPT:
                self._made.clear()
            self._made[local_url] = variants
        return variants

    @cached_property
    def _made(self) -> dict[str, tuple[str, str]]:
        return {}

    @cached_property
    def _validator(self) -> RequestValidator:
        from twilio.request_validator import RequestValidator

        return RequestValidator(self.auth_token)
