"""Twilio's webhook connection overrides: the `#ct=...&rc=...` fragment of a webhook URL.

https://www.twilio.com/docs/usage/webhooks/webhooks-connection-overrides: a webhook URL may end with
a fragment of `key=value` pairs (separated by `&`) that changes how Twilio connects to it. A
fragment never travels over HTTP, so Twilio takes it off before it calls the URL, and the URL it signs
(`X-Twilio-Signature`) is the one it calls, without the fragment: a listener checks the signature
against the URL it was called at. The sandbox does the same, and honours:

| key | what | range | default |
| --- | --- | --- | --- |
| `ct` | connect timeout, ms | 100-10000 | 5000 |
| `rt` | read timeout, ms | 100-15000 | 15000 |
| `tt` | total time for every try, ms | 100-15000 | 15000 |
| `rc` | retry count: tries after the first | 0-5 | 1 |
| `rp` | retry policy: on what a try is retried, comma-separated `ct` (could not connect), `rt` (no answer in time), `4xx`, `5xx`, `all` | | `ct` |

So by default Twilio retries a webhook once when it cannot connect, and does not retry an answer,
5xx included (the default `rp` is `ct`; error 11205, https://www.twilio.com/docs/errors/11205, gives
the same default: "two 5-second attempts" to connect). `e` (the edge) and `sni` change nothing on a
loopback sandbox: they are accepted and ignored, as are keys Twilio does not know. A value out of its
range, or an unknown retry policy, is ignored (the default is used) with a warning in the log: Twilio
reports it as an error (e.g. 11243 "HTTP retry policy is invalid").
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit, urlunsplit

log = logging.getLogger(__name__)

RETRY_POLICIES = frozenset({"ct", "rt", "4xx", "5xx"})
"""What a try can fail on: could not connect, no answer in time, a 4xx answer, a 5xx answer."""

_RANGES_MS = {"ct": (100, 10_000), "rt": (100, 15_000), "tt": (100, 15_000)}
_IGNORED = frozenset({"e", "sni"})


@dataclass(frozen=True)
class ConnectionOverrides:
    """How to call one webhook: timeouts (seconds), retries and what is retried."""

    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    total_time: float = 15.0
    retry_count: int = 1
    retry_policy: frozenset[str] = frozenset({"ct"})

    @property
    def tries(self) -> int:
        """How many times a webhook is tried at most."""
        return 1 + self.retry_count

    def retries(self, failure: str) -> bool:
        """Whether a try that failed this way (`ct`, `rt`, `4xx`, `5xx`) is tried again."""
        return failure in self.retry_policy


def split_overrides(url: str) -> tuple[str, ConnectionOverrides]:
    """The URL to call and sign (without its fragment) and the connection overrides its fragment gives."""
    parts = urlsplit(url)
    bare = urlunsplit(parts._replace(fragment=""))
    if not parts.fragment:
        return bare, ConnectionOverrides()
    values: dict[str, object] = {}
    for key, value in parse_qsl(parts.fragment, keep_blank_values=True):
        if key in _RANGES_MS:
            low, high = _RANGES_MS[key]
            if value.isdigit() and low <= int(value) <= high:
                values[{"ct": "connect_timeout", "rt": "read_timeout", "tt": "total_time"}[key]] = int(value) / 1000
            else:
                log.warning("webhook %s: %s=%s is not from %d to %d ms; the default is used",
                            bare, key, value, low, high)
        elif key == "rc":
            if value.isdigit() and 0 <= int(value) <= 5:
                values["retry_count"] = int(value)
            else:
                log.warning("webhook %s: rc=%s is not a retry count from 0 to 5; the default (1) is used", bare, value)
        elif key == "rp":
            policies = {p.strip().lower() for p in value.split(",") if p.strip()}
            if "all" in policies:
                policies = (policies - {"all"}) | RETRY_POLICIES
            if policies and policies <= RETRY_POLICIES:
                values["retry_policy"] = frozenset(policies)
            else:
                log.warning("webhook %s: rp=%s is not a retry policy (ct, rt, 4xx, 5xx or all; Twilio error 11243); "
                            "the default (ct) is used", bare, value)
        elif key not in _IGNORED:
            log.debug("webhook %s: the connection override %s is not one Twilio knows; ignored", bare, key)
    return bare, ConnectionOverrides(**values)  # type: ignore[arg-type]
