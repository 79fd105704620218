"""A list page served again is the same bytes only while nothing it shows has changed (sandbox.pages)."""

from __future__ import annotations

from datetime import timedelta

import requests

from sandbox import SandboxServer, Store
from tests.conftest import RECIPIENT, SENDER, START


def page(sandbox: SandboxServer, **params: str) -> requests.Response:
    answer = requests.get(f"{sandbox.url}/2010-04-01/Accounts/{sandbox.account_sid}/Messages.json", params=params,
                          auth=(sandbox.account_sid, sandbox.auth_token), timeout=10)
    answer.raise_for_status()
    return answer


def statuses(answer: requests.Response) -> list[str]:
    return [m["status"] for m in answer.json()["messages"]]


def test_the_same_page_is_the_same_bytes_until_a_write(sandbox):
    sandbox.store.insert_messages([{"to": RECIPIENT, "from": SENDER, "body": "one", "status": "delivered"}])
    first, again = page(sandbox), page(sandbox)
    assert first.content == again.content and first.headers["content-type"] == again.headers["content-type"]
    sandbox.store.insert_messages([{"to": RECIPIENT, "from": SENDER, "body": "two", "status": "delivered"}])
    assert {m["body"] for m in page(sandbox).json()["messages"]} == {"one", "two"}


def test_a_write_by_another_process_on_the_file_shows_at_once(sandbox, tmp_path):
    server = SandboxServer(db_path=tmp_path / "shared.sqlite3").start()
    try:
        server.store.insert_messages([{"to": RECIPIENT, "from": SENDER, "body": "one", "status": "delivered"}])
        assert len(page(server).json()["messages"]) == 1
        with Store(tmp_path / "shared.sqlite3") as other:  # another connection, as `twilio-book run` opens
            other.insert_messages([{"to": RECIPIENT, "from": SENDER, "body": "two", "status": "delivered"}])
        assert len(page(server).json()["messages"]) == 2
    finally:
        server.close()


def test_a_page_moves_with_its_messages_status_as_the_clock_goes(sandbox, clock):
    requests.post(f"{sandbox.url}/2010-04-01/Accounts/{sandbox.account_sid}/Messages.json",
                  data={"To": RECIPIENT, "From": SENDER, "Body": "hi"},
                  auth=(sandbox.account_sid, sandbox.auth_token), timeout=10).raise_for_status()
    assert statuses(page(sandbox)) == ["queued"]
    assert statuses(page(sandbox)) == ["queued"]  # served again: nothing moved
    clock.advance(0.5)
    assert statuses(page(sandbox)) == ["sent"]
    clock.advance(1)
    answer = page(sandbox)
    assert statuses(answer) == ["delivered"] and answer.json()["messages"][0]["price"] is not None
    clock.set(START)  # a clock set back: the page is made anew for that time
    assert statuses(page(sandbox)) == ["queued"]


def test_a_list_filtered_by_date_sent_shows_a_message_once_it_is_sent(sandbox, clock):
    day = START.date().isoformat()
    sandbox.store.insert_messages([{"to": RECIPIENT, "from": SENDER, "body": "old", "status": "delivered",
                                    "date_created": START - timedelta(minutes=1)}])
    sandbox.store.insert_messages([{"to": RECIPIENT, "from": SENDER, "body": "lifecycle",
                                    "date_created": START}])  # sent 0.2 s after it was created
    assert [m["body"] for m in page(sandbox, **{"DateSent>": day}).json()["messages"]] == ["old"]
    assert [m["body"] for m in page(sandbox, **{"DateSent>": day}).json()["messages"]] == ["old"]
    clock.advance(0.3)
    assert [m["body"] for m in page(sandbox, **{"DateSent>": day}).json()["messages"]] == ["lifecycle", "old"]


def test_a_list_page_is_the_json_starlette_writes_and_its_dates_are_rfc_2822(sandbox):
    import json
    from email.utils import format_datetime

    from starlette.responses import JSONResponse

    from sandbox.resource import ListResponse

    bodies = ["plain", "é ☃ 😀", 'quotes " and \\ backslash', "controls \x00\x1f\x7f\u2028\n\t\b\f\r /"]
    sandbox.store.insert_messages([{"to": RECIPIENT, "from": SENDER, "body": b, "status": "delivered",
                                    "date_created": START - timedelta(days=400 * n, seconds=3_661 * n)}
                                   for n, b in enumerate(bodies)])
    answer = page(sandbox)
    data = json.loads(answer.content)
    assert answer.content == JSONResponse(data).body  # the very bytes, whatever the characters
    assert sorted(m["body"] for m in data["messages"]) == sorted(bodies)
    created = {m["body"]: m["date_created"] for m in data["messages"]}
    for n, body in enumerate(bodies):
        when = (START - timedelta(days=400 * n, seconds=3_661 * n)).replace(microsecond=0)
        assert created[body] == format_datetime(when)
    huge = {"count": 2 ** 70, "items": []}  # past what orjson writes: written as JSONResponse does
    assert ListResponse(huge).body == JSONResponse(huge).body
