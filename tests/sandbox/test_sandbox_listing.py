"""Listing messages: filters (To, From, DateSent day-inclusive), newest-first order and paging."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
import requests
from twilio.rest import Client

from procedures.http import BookHttpClient
from sandbox import ManualClock, SandboxServer
from tests.conftest import RECIPIENT, SENDER, START

OTHER_SENDER = "+15005550010"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def seed_many(sandbox: SandboxServer, count: int = 5000) -> list[str]:
    """`count` delivered messages, one second apart going back from START, alternating two senders."""
    return sandbox.store.insert_messages(
        {
            "to": f"+1555{i:07d}",
            "from_": SENDER if i % 2 == 0 else OTHER_SENDER,
            "body": f"message {i}",
            "status": "delivered",
            "date_created": START - timedelta(seconds=i),
        }
        for i in range(count)
    )


def raw_get(sandbox: SandboxServer, uri: str, **params: Any) -> requests.Response:
    return requests.get(sandbox.url + uri, params=params, auth=(sandbox.account_sid, sandbox.auth_token), timeout=10)


def messages_uri(sandbox: SandboxServer) -> str:
    return f"/2010-04-01/Accounts/{sandbox.account_sid}/Messages.json"


def test_stream_2500_of_5000_with_page_size_1000_takes_3_requests(
    client: Client, sandbox: SandboxServer, http_client: BookHttpClient
) -> None:
    sids = seed_many(sandbox)
    http_client.request_count = 0

    found = list(client.messages.stream(from_=SENDER, page_size=1000))

    assert http_client.request_count == 3
    assert [m.sid for m in found] == sids[0::2]  # newest first, only the one sender
    assert {m.from_ for m in found} == {SENDER}


def test_reading_20_of_5000_takes_1_request(
    client: Client, sandbox: SandboxServer, http_client: BookHttpClient
) -> None:
    sids = seed_many(sandbox)
    http_client.request_count = 0

    found = client.messages.list(limit=20, page_size=20)

    assert http_client.request_count == 1
    assert [m.sid for m in found] == sids[:20]


def test_envelope_links_work_and_the_last_page_has_no_next(sandbox: SandboxServer) -> None:
    sids = seed_many(sandbox, 5)
    first = raw_get(sandbox, messages_uri(sandbox), PageSize=2).json()

    assert (first["page"], first["page_size"], first["start"], first["end"]) == (0, 2, 0, 1)
    assert first["previous_page_uri"] is None
    assert first["first_page_uri"] == first["uri"] == f"{messages_uri(sandbox)}?PageSize=2&Page=0"
    assert first["next_page_uri"].startswith(messages_uri(sandbox) + "?")

    second = raw_get(sandbox, first["next_page_uri"]).json()
    third = raw_get(sandbox, second["next_page_uri"]).json()

    assert [m["sid"] for m in first["messages"] + second["messages"] + third["messages"]] == sids
    assert (third["page"], third["start"], third["end"]) == (2, 4, 4)
    assert third["next_page_uri"] is None
    back = raw_get(sandbox, third["previous_page_uri"]).json()
    assert [m["sid"] for m in back["messages"]] == sids[2:4]


def test_paging_survives_deleting_the_row_a_page_ended_on(sandbox: SandboxServer, client: Client) -> None:
    sids = seed_many(sandbox, 5)
    first = raw_get(sandbox, messages_uri(sandbox), PageSize=2).json()
    client.messages(sids[1]).delete()

    second = raw_get(sandbox, first["next_page_uri"]).json()

    assert [m["sid"] for m in second["messages"]] == sids[2:4]


def test_page_number_without_token_skips_pages(sandbox: SandboxServer) -> None:
    sids = seed_many(sandbox, 7)
    body = raw_get(sandbox, messages_uri(sandbox), PageSize=3, Page=2).json()
    assert [m["sid"] for m in body["messages"]] == sids[6:]
    assert body["next_page_uri"] is None


def test_filters_are_kept_in_next_page_uri(sandbox: SandboxServer) -> None:
    seed_many(sandbox, 6)
    body = raw_get(sandbox, messages_uri(sandbox), PageSize=1, From=SENDER, **{"DateSent>": "2022-01-01"}).json()
    assert "From=%2B15005550006" in body["next_page_uri"]
    assert "DateSent%3E=2022-01-01" in body["next_page_uri"]


@pytest.mark.parametrize(
    ("params", "code"),
    [({"PageSize": "1001"}, 20001), ({"PageSize": "0"}, 20001), ({"PageToken": "nonsense"}, 20001),
     ({"DateSent>": "yesterday"}, 20001)],
)
def test_bad_list_parameters_are_400(sandbox: SandboxServer, params: dict[str, str], code: int) -> None:
    response = raw_get(sandbox, messages_uri(sandbox), **params)
    assert response.status_code == 400
    assert response.json()["code"] == code


def test_to_and_from_filters(client: Client, sandbox: SandboxServer) -> None:
    sandbox.store.insert_messages(
        [
            {"to": RECIPIENT, "from_": SENDER, "status": "delivered"},
            {"to": "+15551112222", "from_": SENDER, "status": "delivered"},
            {"to": RECIPIENT, "from_": OTHER_SENDER, "status": "delivered"},
        ]
    )
    assert len(client.messages.list(to=RECIPIENT)) == 2
    assert len(client.messages.list(from_=SENDER)) == 2
    assert len(client.messages.list(to=RECIPIENT, from_=SENDER)) == 1


@pytest.fixture
def sent_around_march_1(sandbox: SandboxServer, clock: ManualClock) -> dict[str, str]:
    """Messages sent just before, at the start of, during, at the end of, and after 2022-03-01 GMT."""
    clock.set(utc(2022, 3, 5))
    times = {
        "feb28_late": utc(2022, 2, 28, 23, 59, 59),
        "mar1_start": utc(2022, 3, 1, 0, 0, 0),
        "mar1_noon": utc(2022, 3, 1, 12, 0, 0),
        "mar1_late": utc(2022, 3, 1, 23, 59, 59),
        "mar2_start": utc(2022, 3, 2, 0, 0, 0),
    }
    sids = sandbox.store.insert_messages(
        {"to": RECIPIENT, "from_": SENDER, "body": name, "status": "delivered", "date_created": when, "date_sent": when}
        for name, when in times.items()
    )
    sandbox.store.insert_messages([{"to": RECIPIENT, "from_": SENDER, "body": "never sent", "status": "failed"}])
    return dict(zip(sids, times, strict=False))


def bodies(messages: list[Any]) -> set[str]:
    return {m.body for m in messages}


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"date_sent": "2022-03-01"}, {"mar1_start", "mar1_noon", "mar1_late"}),
        ({"date_sent_after": "2022-03-01"}, {"mar1_start", "mar1_noon", "mar1_late", "mar2_start"}),
        ({"date_sent_before": "2022-03-01"}, {"feb28_late", "mar1_start", "mar1_noon", "mar1_late"}),
        ({"date_sent_after": "2022-03-01", "date_sent_before": "2022-03-01"}, {"mar1_start", "mar1_noon", "mar1_late"}),
        ({"date_sent_after": utc(2022, 3, 1, 12)}, {"mar1_noon", "mar1_late", "mar2_start"}),
        ({"date_sent_before": utc(2022, 3, 1, 12)}, {"feb28_late", "mar1_start", "mar1_noon"}),
        # The SDK sends a `date` as midnight (2022-03-01T00:00:00Z), which is an instant, not a day:
        ({"date_sent_before": date(2022, 3, 1)}, {"feb28_late", "mar1_start"}),
    ],
)
def test_date_sent_filters(
    client: Client, sent_around_march_1: dict[str, str], filters: dict[str, Any], expected: set[str]
) -> None:
    assert bodies(client.messages.list(**filters)) == expected


def test_unsent_messages_have_no_date_sent_and_never_match_date_filters(
    client: Client, sandbox: SandboxServer, clock: ManualClock
) -> None:
    client.messages.create(to=RECIPIENT, from_=SENDER, body="just queued")
    assert client.messages.list(date_sent="2022-03-01") == []
    clock.advance(1)
    assert bodies(client.messages.list(date_sent="2022-03-01")) == {"just queued"}
