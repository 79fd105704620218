"""The HTTP client the book gives the `twilio` SDK: safe retries, host pinning, an optional sandbox URL.

    client = twilio.rest.Client(sid, token, http_client=BookHttpClient())            # real Twilio
    client = twilio.rest.Client(sid, token, http_client=BookHttpClient(sandbox.url)) # the sandbox

What it adds to the SDK's `TwilioHttpClient`:

- Credentials go only to `twilio.com` and its subdomains; any other host is refused before sending.
  With `base_url`, every Twilio URL (api., monitor., absolute next-page links...) is sent to
  `base_url` instead, keeping path and query.
- Reads (GET, HEAD, OPTIONS) are retried on HTTP 429, 500, 502, 503 and 504 (honouring Retry-After,
  capped) and on connection failures and timeouts, with capped, fully jittered exponential backoff.
- Writes (POST, DELETE) are retried only when the request provably never reached the server (the
  connection could not be opened) or on HTTP 429. If the connection fails after the request went
  out, `DeliveryUnknownError` is raised and nothing is resent: a message is never sent twice.
  The retrying itself is urllib3's `Retry`, which already tells a connection never opened (a connect
  error) from a failure after the request went out (a read error); the book adds the statuses per
  method, the never-resend rule, its own jittered backoff and an injectable `sleep` and `random`.
- `request_count` counts every attempt (and every redirect followed), so benchmarks can report
  requests per read.
- `download` streams a file (a recording's audio, a message's media) to a path with the same pinning
  and read retries; the file appears only once it is complete.
- Two transports, one set of rules: requests (its `Session`), and urllib3 directly, on the connection pools
  requests keeps (its proxies from the environment, its CA bundle and TLS settings), without requests'
  `Request`, `PreparedRequest` and `Response` round it. The second costs about a quarter of the CPU a send,
  which is what bounds items run side by side (one core, the GIL): `transport="auto"` takes it for the
  requests of an item of a loop run side by side (`process each ..., 8 at a time`) and requests elsewhere.
  The urllib3 transport sends API requests only (no redirects followed, no request hooks, no cookies kept,
  credentials given or no ~/.netrc to read; anything else goes through requests); its errors are requests' own, as requests' adapter raises them, so
  what is retried, what is reported and how is the same on both.

The Authorization header and the auth token never appear in a log line or an error message.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import random as _random
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import SplitResult, urlencode, urlsplit, urlunsplit

import requests
import urllib3.exceptions as u3
from requests import PreparedRequest, Request
from requests.adapters import HTTPAdapter
from requests.auth import _basic_auth_str
from requests.utils import get_encoding_from_headers, requote_uri
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from urllib3.exceptions import ConnectTimeoutError, InvalidHeader, MaxRetryError, NewConnectionError, ReadTimeoutError
from urllib3.util import Timeout
from urllib3.util.retry import Retry

from book.errors import ConnectionError_, DeliveryUnknownError, RemoteError
from book.side_by_side import MAX_AT_A_TIME, beside


class TwilioError(RemoteError):
    """Twilio (or the sandbox) refused a request: its HTTP status, Twilio error code, message and link."""

    service = "Twilio"

BACKOFF_BASE = 0.5
"""Seconds: the first retry waits up to this long; each later one up to twice the previous."""
BACKOFF_CAP = 8.0
"""Seconds: no backoff wait is longer than this."""
RETRY_AFTER_CAP = 30.0
"""Seconds: the longest Retry-After the client will honour."""

_READS = frozenset({"GET", "HEAD", "OPTIONS"})
_READ_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_WRITE_RETRY_STATUSES = frozenset({429})
_GIVE_UP_STATUSES = frozenset({429, 503})
"""Statuses that, still there after the last attempt, are reported as a rate limit or an outage."""
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
TRANSPORTS = ("auto", "requests", "urllib3")
"""How a client sends API requests: "auto" (urllib3 directly for an item run side by side, else requests), or
always the one named (the module docstring)."""

_T = TypeVar("_T")


@dataclass(frozen=True)
class DownloadResult:
    """A finished download: the file written, its size in bytes, and its content type as Twilio gave it."""

    path: Path
    size: int
    content_type: str


def is_twilio_host(host: str) -> bool:
    """Whether `host` is twilio.com or one of its subdomains."""
    host = host.lower().rstrip(".")
    return host == "twilio.com" or host.endswith(".twilio.com")


class BookHttpClient(TwilioHttpClient):
    """The SDK's HTTP client with host pinning, an optional base URL (the sandbox) and safe retries."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        timeout: float = 30.0,
        max_attempts: int = 5,
        sleep: Callable[[float], None] = time.sleep,
        random: Callable[[], float] = _random.random,
        transport: str = "auto",
    ) -> None:
        self._last = threading.local()  # before the SDK's __init__, which sets `_test_only_last_response`
        super().__init__(pool_connections=True, timeout=timeout)
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {max_attempts}")
        if transport not in TRANSPORTS:
            raise ValueError(f"transport must be one of {', '.join(TRANSPORTS)}, not {transport!r}")
        self.transport = transport
        self._routes: dict[tuple[Any, ...], _Route] = {}
        self._auth: tuple[tuple[str, str], str] | None = None
        self.base_url = base_url
        self._base = _parse_base_url(base_url) if base_url else None
        self.max_attempts = max_attempts
        self._sleep = sleep
        self._random = random
        self._count_lock = threading.Lock()
        self.request_count = 0
        self._adapter = _Adapter()
        if self.session is not None:
            self.session.mount("https://", self._adapter)
            self.session.mount("http://", self._adapter)
        if self._base is not None and self.session is not None and (self._base.hostname or "") in _LOOPBACK:
            # A local sandbox is never reached through a proxy from the environment.
            self.session.trust_env = False

    def __repr__(self) -> str:
        return f"BookHttpClient(base_url={self.base_url!r}, max_attempts={self.max_attempts})"

    def log_request(self, kwargs: dict[str, Any]) -> None:
        """The SDK's request log (never the Authorization header), built only when it is logged."""
        if self.logger.isEnabledFor(logging.INFO):
            super().log_request(kwargs)

    def log_response(self, status_code: int, response: Any) -> None:
        """The SDK's response log (status and headers), built only when it is logged."""
        if self.logger.isEnabledFor(logging.INFO):
            super().log_response(status_code, response)

    @property  # type: ignore[override]
    def _test_only_last_response(self) -> Response | None:
        """The last response this thread received (each thread its own, as items side by side send at once)."""
        return getattr(self._last, "response", None)

    @_test_only_last_response.setter
    def _test_only_last_response(self, value: Response | None) -> None:
        self._last.response = value

    def uses_urllib3(self, *, auth: object, allow_redirects: bool, data: object = None) -> bool:
        """Whether a request goes by urllib3 directly (the module docstring): by the client's `transport` (for
        "auto", whether the calling thread runs an item side by side), and if requests would add nothing."""
        if self.transport == "requests" or (self.transport == "auto" and not beside()):
            return False
        hooks = self.request_hooks or {}
        return (self.session is not None and (auth is not None or not self.session.trust_env)  # else: ~/.netrc
                and not allow_redirects and not any(hooks.values()) and not self.session.cookies
                and (data is None or isinstance(data, dict))
                and hasattr(self._adapter, "get_connection_with_tls_context"))

    def target_url(self, url: str) -> str:
        """Where a Twilio URL is actually sent: itself, or the same path and query under `base_url`.

        Raises RemoteError for a host that is not Twilio's, so credentials never go elsewhere.
        """
        parts = urlsplit(url)
        host = parts.hostname or ""
        if not is_twilio_host(host):
            raise RemoteError(
                f"Refused to send a request to {host or url!r}: the book sends credentials only to Twilio "
                "(twilio.com and its subdomains). This is a bug in the caller; nothing was sent."
            )
        if self._base is None:
            if parts.scheme != "https":
                raise RemoteError(f"Refused to send a request to {host} over {parts.scheme}: Twilio needs https.")
            return url
        path = self._base.path.rstrip("/") + parts.path
        return urlunsplit((self._base.scheme, self._base.netloc, path, parts.query, ""))

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        """Send one API request (retrying as the module docstring describes) and return the response."""
        kwargs: dict[str, Any] = {
            "method": method.upper(),
            "url": self.target_url(url),
            "params": params,
            "headers": headers,
            "auth": auth,
            "hooks": self.request_hooks,
        }
        if headers and headers.get("Content-Type") in ("application/json", "application/scim+json"):
            kwargs["json"] = data
        else:
            kwargs["data"] = data
        self.log_request(kwargs)
        self._test_only_last_response = None
        direct = self.uses_urllib3(auth=auth, allow_redirects=allow_redirects, data=data)

        def receive(response: requests.Response | _Answer) -> Response:
            self.log_response(response.status_code, response)  # type: ignore[arg-type]
            self._test_only_last_response = Response(int(response.status_code), response.text, response.headers)
            return self._test_only_last_response

        # streamed: the body is read in `receive`, so a read whose body breaks off is tried again (both transports)
        return self._exchange(kwargs, timeout=timeout, allow_redirects=allow_redirects, stream=True, receive=receive,
                              direct=direct)

    def download(
        self,
        url: str,
        destination: Path,
        *,
        auth: tuple[str, str] | None,
        overwrite: bool = False,
        what: str | None = None,
        chunk_size: int = 64 * 1024,
    ) -> DownloadResult:
        """GET a Twilio file (a recording's audio, a message's media) into `destination`, retried like any read.

        The body streams into a temporary file beside `destination` that is renamed into place only
        once it is complete: a failed download leaves neither half a file nor the temporary one. A body
        that breaks off midway is fetched again from the start. Redirects are followed, and a redirect to
        another host (Twilio's media storage) gets no credentials.

        Raises FileExistsError if `destination` exists (checked before sending, and again when the file
        is placed) unless `overwrite`; RemoteError for a host that is not Twilio's (nothing is sent), for
        an HTTP error (with Twilio's code, message and more-info link; `what`, like "the recording RE...",
        names the file in the message) and for a connection that keeps failing; OSError if the folder of
        `destination` cannot be written.
        """
        destination = Path(destination)
        if not overwrite and os.path.lexists(destination):
            raise FileExistsError(errno.EEXIST, "the file already exists; nothing was downloaded", str(destination))
        target = self.target_url(url)
        kwargs: dict[str, Any] = {
            "method": "GET", "url": target, "params": None, "headers": None, "auth": auth, "hooks": self.request_hooks
        }
        if what is None:
            parts = urlsplit(target)
            what = parts.netloc + parts.path
        descriptor, name = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.", suffix=".part")
        os.close(descriptor)
        temporary = Path(name)

        def receive(response: requests.Response) -> DownloadResult:
            with response:
                self.log_response(response.status_code, response)
                if response.status_code >= 400:
                    raise _refused(response, what)
                size = 0
                with temporary.open("wb") as out:  # truncates what an earlier, broken attempt wrote
                    for chunk in response.iter_content(chunk_size):
                        out.write(chunk)
                        size += len(chunk)
                    out.flush()
                    os.fsync(out.fileno())
            content_type = response.headers.get("Content-Type") or "application/octet-stream"
            return DownloadResult(destination, size, content_type.split(";")[0].strip())

        self.log_request(kwargs)
        try:
            result = self._exchange(kwargs, timeout=None, allow_redirects=True, stream=True, receive=receive)
            _place(temporary, destination, overwrite)
        finally:
            with suppress(FileNotFoundError):
                temporary.unlink()
        return result

    def _exchange(
        self,
        kwargs: dict[str, Any],
        *,
        timeout: float | None,
        allow_redirects: bool,
        stream: bool,
        receive: Callable[[Any], _T],
        direct: bool = False,
    ) -> _T:
        """Send the request `kwargs` describe, retrying as the module docstring says; return `receive(answer)`.

        urllib3's `Retry` (`_BookRetry`) retries what may be retried while the answer is awaited. `receive`
        runs here, so a read whose body breaks off while it is read is tried again too, within the same
        `max_attempts`. With `direct`, urllib3 sends it (`_Direct`) and the answer is an `_Answer`, else a
        requests `Response`; either way a failure is one of requests' exceptions.
        """
        if timeout is None:
            timeout = self.timeout
        elif timeout <= 0:
            raise ValueError(timeout)
        method = kwargs["method"]
        where = _describe(method, kwargs["url"])
        send: Callable[[_BookRetry], Any]
        if direct:
            assert self.session is not None
            send = _Direct(self, kwargs, timeout).send
        else:
            send = self._requests_sender(kwargs, timeout, allow_redirects, stream)
        attempts = _Attempts(self)
        while True:
            attempts.add()
            retry = _BookRetry(self.max_attempts - attempts.count, attempts)
            try:
                response = send(retry)
            except requests.exceptions.RequestException as exc:
                raise _failure(exc, method, where, attempts.count) from None
            self._count(len(response.history))
            if response.status_code in _GIVE_UP_STATUSES and _BookRetry.retries_status(method, response.status_code):
                with response:  # retried, and no attempt was left: say so (another 5xx is the service's own error)
                    raise _gave_up(response, where, attempts.count)
            try:
                return receive(response)
            except requests.exceptions.RequestException as exc:  # the body broke off while it was read
                if method not in _READS or attempts.count >= self.max_attempts or not _is_transient(exc):
                    raise _failure(exc, method, where, attempts.count) from None
            self._sleep(self.backoff(attempts.count))

    def _route(self, url: str, *, fresh: bool = False) -> _Route:
        """Where the urllib3 transport sends `url`: the settings requests takes from the environment and the
        session (proxies, CA bundle, client certificate), its pool for them, kept a host until one changes."""
        session = self.session
        assert session is not None
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc, tuple(map(os.environ.get, _PROXY_VARIABLES)) if session.trust_env else (),
               tuple(sorted((self.proxy or {}).items())), tuple(sorted(session.proxies.items())), session.trust_env,
               session.verify, session.cert if not isinstance(session.cert, list) else tuple(session.cert))
        route = None if fresh else self._routes.get(key)
        if route is None:
            settings = session.merge_environment_settings(url, self.proxy, False, None, None)
            request = PreparedRequest()  # what the adapter's helpers read: the URL
            request.url = url
            try:
                pool = self._adapter.get_connection_with_tls_context(
                    request, settings["verify"], proxies=settings["proxies"], cert=settings["cert"])
            except u3.LocationValueError as err:
                raise requests.exceptions.InvalidURL(err) from None
            self._adapter.cert_verify(pool, url, settings["verify"], settings["cert"])
            full_url = self._adapter.request_url(request, settings["proxies"]) != _path_url(url)
            self._routes[key] = route = _Route(pool, full_url)
        return route

    def _basic_auth(self, auth: tuple[str, str]) -> str:
        """The Authorization header for `auth` (requests' `_basic_auth_str`), kept for the last credentials."""
        kept = self._auth
        if kept is None or kept[0] != auth:
            self._auth = kept = (auth, _basic_auth_str(*auth))
        return kept[1]

    def _requests_sender(self, kwargs: dict[str, Any], timeout: float, allow_redirects: bool,
                         stream: bool) -> Callable[[_BookRetry], requests.Response]:
        session = self.session or requests.Session()
        prepared = session.prepare_request(Request(**kwargs))
        settings = session.merge_environment_settings(prepared.url, self.proxy, stream, None, None)

        def send(retry: _BookRetry) -> requests.Response:
            with self._adapter.retrying(retry):
                return session.send(prepared, allow_redirects=allow_redirects, timeout=timeout, **settings)

        return send

    def _count(self, requests_sent: int) -> None:
        with self._count_lock:
            self.request_count += requests_sent

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before retry number `attempt` (1-based): full jitter, capped."""
        return self._random() * min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1))


class _Attempts:
    """How many times one request was sent; each one is counted in the client's `request_count` too."""

    def __init__(self, client: BookHttpClient) -> None:
        self.client = client
        self.count = 0

    def add(self) -> None:
        self.count += 1
        self.client._count(1)


class _BookRetry(Retry):
    """urllib3's `Retry` with the book's rules (the module docstring): which failures and statuses are
    retried for which methods, the capped Retry-After, the client's jittered backoff and its injected
    sleep, and every attempt counted.

    urllib3 already tells a connection that was never opened (a connect error: retried for any method)
    from a failure after the request went out (a read error: retried only for the methods in
    `allowed_methods`, the reads); any other error (TLS) is not retried.
    """

    def __init__(self, retries: int, attempts: _Attempts, **kwargs: Any) -> None:
        kwargs.setdefault("total", retries)
        kwargs.setdefault("other", 0)
        kwargs.setdefault("redirect", False)  # requests follows redirects itself
        kwargs.setdefault("allowed_methods", _READS)
        kwargs.setdefault("raise_on_status", False)  # the last answer retried comes back, for `_gave_up` or the SDK
        kwargs.setdefault("retry_after_max", int(RETRY_AFTER_CAP))
        super().__init__(**kwargs)
        self.attempts = attempts

    def new(self, **kw: Any) -> _BookRetry:
        params = {"total": self.total, "connect": self.connect, "read": self.read, "redirect": self.redirect,
                  "status": self.status, "other": self.other, "allowed_methods": self.allowed_methods,
                  "raise_on_redirect": self.raise_on_redirect, "raise_on_status": self.raise_on_status,
                  "history": self.history, "retry_after_max": self.retry_after_max, **kw}
        return type(self)(params.pop("total"), self.attempts, **params)

    @staticmethod
    def retries_status(method: str, status: int) -> bool:
        """Whether an answer with this status is tried again: 429 and a 5xx for a read, 429 for a write."""
        return status in (_READ_RETRY_STATUSES if method in _READS else _WRITE_RETRY_STATUSES)

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        return bool(self.total) and self.retries_status(method.upper(), status_code)

    def increment(self, *args: Any, **kwargs: Any) -> _BookRetry:
        retry = super().increment(*args, **kwargs)  # raises when nothing more may be tried
        self.attempts.add()
        return retry

    def get_retry_after(self, response: Any) -> float | None:
        try:
            seconds = super().get_retry_after(response)
        except InvalidHeader:
            return None
        return None if seconds is None else float(seconds)

    def get_backoff_time(self) -> float:
        return self.attempts.client.backoff(len(self.history))

    def sleep(self, response: Any = None) -> None:
        delay = self.get_retry_after(response) if response is not None else None
        self.attempts.client._sleep(delay if delay is not None else self.get_backoff_time())


class _Adapter(HTTPAdapter):
    """requests' adapter, with the `Retry` of the request in hand (one per thread) instead of a fixed one."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._fixed: Any = Retry(0, read=False)
        # as many kept connections a host as a loop may run items side by side (`64 at a time`, the most)
        super().__init__(pool_maxsize=MAX_AT_A_TIME)

    @property  # type: ignore[override]
    def max_retries(self) -> Any:
        return getattr(self._local, "retry", None) or self._fixed

    @max_retries.setter
    def max_retries(self, value: Any) -> None:
        self._fixed = value

    @contextmanager
    def retrying(self, retry: Retry) -> Iterator[None]:
        self._local.retry = retry
        try:
            yield
        finally:
            self._local.retry = None


class _Direct:
    """One API request sent by urllib3 on the pools of requests' adapter, as requests would send it: the same
    URL, headers (the session's, then the request's), body, credentials, proxies and TLS settings, built
    without requests' `Request`, `PreparedRequest.prepare` and `Response`; its failures are requests' own.
    Where a host is reached (the environment's proxies, the CA bundle, the pool) is the client's `_route`."""

    def __init__(self, client: BookHttpClient, kwargs: dict[str, Any], timeout: float) -> None:
        self.client = client
        self.method = method = kwargs["method"]
        url = kwargs["url"]
        if kwargs["params"]:
            query = _form(kwargs["params"])
            if query:
                url += ("&" if urlsplit(url).query else "?") + query
        self.url = url if _NEEDS_NO_QUOTING.fullmatch(url) else requote_uri(url)
        session = client.session
        assert session is not None
        named = {name.lower(): (name, value) for name, value in session.headers.items()}
        for name, value in (kwargs["headers"] or {}).items():
            named[name.lower()] = (name, value)
        body: bytes | None = None
        if "json" in kwargs:
            if kwargs["json"] is not None:
                body = json.dumps(kwargs["json"], allow_nan=False).encode()
                named.setdefault("content-type", ("Content-Type", "application/json"))
        elif kwargs["data"]:
            body = _form(kwargs["data"]).encode()
            named.setdefault("content-type", ("Content-Type", "application/x-www-form-urlencoded"))
        if kwargs["auth"] is not None:
            named["authorization"] = ("Authorization", client._basic_auth(kwargs["auth"]))
        if body is not None:
            named["content-length"] = ("Content-Length", str(len(body)))
        elif method not in ("GET", "HEAD"):
            named["content-length"] = ("Content-Length", "0")
        self.headers = {name: value for name, value in named.values() if value is not None}
        self.body = body
        self.timeout = Timeout(connect=timeout, read=timeout)

    def send(self, retry: _BookRetry) -> _Answer:
        """One attempt (urllib3 retries within it as `retry` allows), as requests' `HTTPAdapter.send` makes it."""
        route = self.client._route(self.url)
        path = self.url if route.full_url else _path_url(self.url)
        for fresh in (False, True):
            try:
                raw = route.pool.urlopen(method=self.method, url=path, body=self.body, headers=self.headers,
                                         redirect=False, assert_same_host=False, preload_content=False,
                                         decode_content=False, retries=retry, timeout=self.timeout, chunked=False)
            except u3.ClosedPoolError:  # the adapter let the pool go (too many hosts); nothing was sent
                if fresh:
                    raise requests.exceptions.ConnectionError("the connection pool was closed") from None
                route = self.client._route(self.url, fresh=True)
            except Exception as err:
                raise _from_urllib3(err) from None
            else:
                return _Answer(raw)
        raise AssertionError("unreachable")


@dataclass(frozen=True)
class _Route:
    """How the urllib3 transport reaches one scheme and host: requests' pool for it (with its proxy and TLS
    settings) and whether the request line carries the whole URL (plain http through a proxy)."""

    pool: Any
    full_url: bool


_PROXY_VARIABLES = tuple(name for base in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
                         for name in (base, base.upper())) + ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "REQUEST_METHOD")
"""What requests reads from the environment to reach a host: a change of one is seen at the next request."""


_NEEDS_NO_QUOTING = re.compile(r"[A-Za-z0-9\-._~!#$&'()*+,/:;=?@\[\]]*")
"""A URL of these characters alone (no %) is as requests' `requote_uri` would leave it."""


def _form(data: Any) -> str:
    """A dict (or pairs) form-encoded as requests encodes it: a list value repeats its key, None is left out."""
    if isinstance(data, (str, bytes)):
        return data.decode() if isinstance(data, bytes) else data
    pairs = []
    for key, values in (data.items() if hasattr(data, "items") else data):
        if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            values = [values]
        pairs.extend((key.encode() if isinstance(key, str) else key, value.encode() if isinstance(value, str) else value)
                     for value in values if value is not None)
    return urlencode(pairs, doseq=True)


def _path_url(url: str) -> str:
    """The request line's target for a URL (requests' `PreparedRequest.path_url`)."""
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _from_urllib3(err: Exception) -> Exception:
    """The exception requests' `HTTPAdapter.send` raises for this one of urllib3 (else `err` itself)."""
    E = requests.exceptions
    if isinstance(err, (u3.ProtocolError, OSError)):
        return E.ConnectionError(err)
    if isinstance(err, MaxRetryError):
        if isinstance(err.reason, ConnectTimeoutError) and not isinstance(err.reason, NewConnectionError):
            return E.ConnectTimeout(err)
        if isinstance(err.reason, u3.ResponseError):
            return E.RetryError(err)
        if isinstance(err.reason, u3.ProxyError):
            return E.ProxyError(err)
        if isinstance(err.reason, u3.SSLError):
            return E.SSLError(err)
        return E.ConnectionError(err)
    if isinstance(err, u3.ClosedPoolError):
        return E.ConnectionError(err)
    if isinstance(err, u3.ProxyError):
        return E.ProxyError(err)
    if isinstance(err, u3.SSLError):
        return E.SSLError(err)
    if isinstance(err, ReadTimeoutError):
        return E.ReadTimeout(err)
    if isinstance(err, InvalidHeader):
        return E.InvalidHeader(err)
    return err


class _Answer:
    """urllib3's response, read as requests reads one: `status_code`, `headers`, `text` (the charset the
    headers give, else UTF-8, as Twilio's JSON is), `json()`; a body that breaks off raises what requests
    raises. Closed (its connection back in the pool) once read, or on leaving `with`."""

    history = ()

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.status_code: int = raw.status
        self.headers = raw.headers
        self._text: str | None = None

    @property
    def text(self) -> str:
        if self._text is None:
            E = requests.exceptions
            try:
                content = self.raw.read(decode_content=True)
            except u3.ProtocolError as err:
                raise E.ChunkedEncodingError(err) from None
            except u3.DecodeError as err:
                raise E.ContentDecodingError(err) from None
            except ReadTimeoutError as err:
                raise E.ConnectionError(err) from None
            except u3.SSLError as err:
                raise E.SSLError(err) from None
            finally:
                self.raw.release_conn()
            encoding = get_encoding_from_headers(self.headers) or "utf-8"
            try:
                self._text = str(content, encoding, errors="replace")
            except (LookupError, TypeError):
                self._text = str(content, "utf-8", errors="replace")
        return self._text

    def json(self) -> Any:
        return json.loads(self.text)

    def __enter__(self) -> _Answer:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._text is None:
            self.raw.close()
        self.raw.release_conn()


def _failure(exc: requests.exceptions.RequestException, method: str, where: str, attempts: int) -> RemoteError:
    """The book's error for a request that failed without an answer, after `attempts` tries."""
    reason = _reason(exc)
    if isinstance(exc, requests.exceptions.SSLError) or not _is_transient(exc):
        return RemoteError(
            f"Could not talk to {where}: {reason}. Check the connection's URL and your network; nothing was resent."
        )
    if method not in _READS and not _never_reached_server(exc):
        return DeliveryUnknownError(_delivery_unknown_message(method, where, reason))
    return RemoteError(
        f"Could not reach {where} after {attempts} attempt{'s' if attempts != 1 else ''} ({reason}). "
        "Check your network connection (for the sandbox: that it is running) and try again."
    )


def _parse_base_url(base_url: str) -> SplitResult:
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConnectionError_(
            f"The base URL {base_url!r} is not usable: give scheme, host and port only, "
            "like http://127.0.0.1:8765 for a sandbox."
        )
    if parts.username or parts.password:
        raise ConnectionError_("The base URL must not contain a user name or password; credentials are sent separately.")
    return parts


def _describe(method: str, url: str) -> str:
    """`POST api.twilio.com/2010-04-01/...` without query string (and so without any secret)."""
    parts = urlsplit(url)
    return f"{method} {parts.netloc}{parts.path}"


def _is_transient(exc: requests.exceptions.RequestException) -> bool:
    return isinstance(
        exc,
        (requests.exceptions.ConnectionError, requests.exceptions.Timeout, requests.exceptions.ChunkedEncodingError),
    )


def _never_reached_server(exc: requests.exceptions.RequestException) -> bool:
    """True only when the connection was never opened, so the server cannot have seen the request."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.ProxyError) or not isinstance(exc, requests.exceptions.ConnectionError):
        return False
    cause: object = exc.args[0] if exc.args else None
    if isinstance(cause, MaxRetryError):
        cause = cause.reason
    # NewConnectionError covers refused connections and failed DNS lookups (NameResolutionError).
    return isinstance(cause, (NewConnectionError, ConnectTimeoutError))


def _reason(exc: requests.exceptions.RequestException) -> str:
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "timed out while connecting"
    cause: object = exc.args[0] if exc.args else None
    if isinstance(exc, requests.exceptions.ReadTimeout) or (
        isinstance(cause, MaxRetryError) and isinstance(cause.reason, ReadTimeoutError)
    ):
        return "timed out waiting for the response"
    if isinstance(exc, requests.exceptions.SSLError):
        return "the TLS handshake failed"
    if _never_reached_server(exc):
        return "could not connect"
    if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        return "the connection was closed before a complete response arrived"
    return type(exc).__name__


def _delivery_unknown_message(method: str, where: str, reason: str) -> str:
    if method == "DELETE":
        check = "Read it again to see whether it still exists before deleting again."
    else:
        check = (
            "Check whether it was created before retrying, e.g. with `read SMS messages` "
            "(or `read an SMS message whose sid is ...` if you know its SID)."
        )
    return f"{where} may have reached Twilio: {reason} after the request was sent. It was not resent. {check}"


def _gave_up(response: requests.Response, where: str, attempts: int) -> RemoteError:
    code, _, more_info = _twilio_error(response)
    what = "is limiting the request rate" if response.status_code == 429 else "is unavailable"
    return TwilioError(
        f"{where} {what} (HTTP {response.status_code}) and still was after {attempts} attempts; "
        "wait a minute and try again.",
        status=response.status_code,
        code=code,
        more_info=more_info,
    )


def _refused(response: requests.Response, what: str) -> RemoteError:
    code, message, more_info = _twilio_error(response)
    return TwilioError(
        f"Twilio refused to download {what}: {message or f'HTTP {response.status_code}'}",
        status=response.status_code,
        code=code,
        more_info=more_info,
    )


def _twilio_error(response: requests.Response) -> tuple[int | None, str | None, str | None]:
    """The code, message and more-info link of a Twilio JSON error body; None for each one missing."""
    try:
        body = response.json()  # a streamed body is read here, and may break off
    except (ValueError, requests.exceptions.RequestException):
        return None, None, None
    if not isinstance(body, dict):
        return None, None, None
    code, message, more_info = body.get("code"), body.get("message"), body.get("more_info")
    return (
        code if isinstance(code, int) else None,
        (message.strip() or None) if isinstance(message, str) else None,
        more_info if isinstance(more_info, str) else None,
    )


def _place(temporary: Path, destination: Path, overwrite: bool) -> None:
    """Move a finished download into place; without `overwrite`, never over a file that appeared meanwhile."""
    if overwrite:
        os.replace(temporary, destination)
        return
    appeared = FileExistsError(errno.EEXIST, "the file appeared while downloading; it was kept", str(destination))
    try:
        os.link(temporary, destination)  # atomic, and fails if the destination exists
    except FileExistsError:
        raise appeared from None
    except OSError:  # a file system without hard links
        if os.path.lexists(destination):
            raise appeared from None
        os.replace(temporary, destination)
