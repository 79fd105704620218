"""The pieces the resource modules share: date-range filters, SQL conditions, tables, seeding checks, page links."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import pytest

from sandbox import ManualClock, Store
from sandbox.alerts import v1_envelope
from sandbox.api_errors import ApiError
from sandbox.call_store import CALLS, CallStore
from sandbox.clock import DAY_US, datetime_to_us, span_us
from sandbox.filters import Where, date_range
from sandbox.paging import Cursor, PageLinks, PageRequest, envelope
from sandbox.recordings import RECORDINGS, insert_recordings
from sandbox.seeding import check_choice, check_keys, check_sid, seed_us
from sandbox.store import MESSAGES

START = datetime(2022, 3, 1, 15, 0, 0, tzinfo=timezone.utc)
DAY = datetime_to_us(datetime(2022, 3, 1, tzinfo=timezone.utc))


@pytest.fixture
def store() -> Iterator[Store]:
    with Store(":memory:", clock=ManualClock(START)) as store:
        yield store


# -- date ranges ----------------------------------------------------------------------------------


def test_a_day_spans_the_whole_gmt_day_and_an_instant_one_microsecond() -> None:
    assert span_us("2022-03-01") == (DAY, DAY + DAY_US)
    noon = datetime_to_us(datetime(2022, 3, 1, 12, tzinfo=timezone.utc))
    assert span_us("2022-03-01T12:00:00Z") == (noon, noon + 1)
    assert span_us("2022-03-01T14:00:00+02:00") == (noon, noon + 1)
    assert span_us("2022-03-01T12:00:00Z", whole_day=True) == (DAY, DAY + DAY_US)
    with pytest.raises(ValueError):
        span_us("yesterday")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, (None, None)),
        ({"DateSent": "2022-03-01"}, (DAY, DAY + DAY_US)),
        ({"DateSent": "2022-03-01T12:00:00Z"}, (DAY, DAY + DAY_US)),  # the day it falls on
        ({"DateSent>": "2022-03-01"}, (DAY, None)),
        ({"DateSent<": "2022-03-01"}, (None, DAY + DAY_US)),  # inclusive: up to the end of that day
        ({"DateSent>": "2022-02-28", "DateSent<": "2022-03-01"}, (DAY - DAY_US, DAY + DAY_US)),
        ({"DateSent": "2022-03-01", "DateSent>": "2022-03-01T12:00:00Z"},
         (DAY + DAY_US // 2, DAY + DAY_US)),  # several filters narrow the range
        ({"DateSent": "", "DateSent<": ""}, (None, None)),  # empty values are no filter
    ],
)
def test_date_range_reads_the_three_filters_of_a_name(
    query: dict[str, str], expected: tuple[int | None, int | None]
) -> None:
    assert date_range(query, "DateSent") == expected


def test_date_range_names_the_malformed_filter() -> None:
    with pytest.raises(ApiError) as caught:
        date_range({"StartTime": "2022-03-01", "StartTime<": "soon"}, "StartTime")
    assert caught.value.status == 400
    assert "StartTime<" in caught.value.message and "soon" in caught.value.message


# -- SQL conditions -------------------------------------------------------------------------------


def test_where_adds_only_the_filters_given() -> None:
    where = Where()
    where.equals("to_number", None)
    where.equals("from_number", "+15005550006")
    where.in_range("created_us", None, 20)
    where.reached_in_range("sent_us", None, None, 99)
    assert (where.conditions, where.args) == (["from_number = ?", "created_us < ?"], ["+15005550006", 20])

    where.reached_in_range("start_us", 10, None, 99)
    assert where.conditions[-2:] == [
        "start_us IS NOT NULL AND (final_status IS NOT NULL OR start_us <= ?)", "start_us >= ?"
    ]
    assert where.args[-2:] == [99, 10]


# -- tables and the store's API for resource modules ------------------------------------------------


def test_tables_name_their_columns_after_the_record_fields() -> None:
    assert MESSAGES.columns.startswith("sid, account_sid, to_number, from_number, body, ")
    assert CALLS.columns.endswith(", price, queue_time_ms, params")
    assert RECORDINGS.placeholders == ", ".join("?" * 13)


def test_a_record_survives_the_round_trip_through_its_row(store: Store) -> None:
    (sid,) = store.insert_messages([{"to": "+15558675310", "media_urls": ["https://example.com/a.png"]}])
    record = store.get(MESSAGES, sid)
    assert record is not None and record == store.get_message(sid)
    row = MESSAGES.row(record)
    assert row[-1] == '{"MediaUrl": ["https://example.com/a.png"]}'
    assert MESSAGES.record(row) == record


def test_the_store_api_inserts_gets_pages_and_deletes_any_table(store: Store) -> None:
    sids = insert_recordings(store, [{"date_created": f"2022-02-{day:02d}T10:00:00Z"}
                                     for day in range(1, 6)])
    assert store.count(RECORDINGS) == 5

    where = Where()
    where.in_range("created_us", *date_range({"DateCreated>": "2022-02-02", "DateCreated<": "2022-02-04"},
                                             "DateCreated"))
    page, has_more = store.keyset_page(RECORDINGS, where, PageRequest(page_size=2))
    assert [r.sid for r in page] == [sids[3], sids[2]] and has_more
    rest, has_more = store.keyset_page(RECORDINGS, where, PageRequest(page_size=2, page=1,
                                                                      cursor=Cursor.after(page[-1])))
    assert [r.sid for r in rest] == [sids[1]] and not has_more

    only_old = Where()
    only_old.add("created_us < ?", datetime_to_us(datetime(2022, 2, 2, tzinfo=timezone.utc)))
    assert store.get(RECORDINGS, sids[0], only_old) is not None
    assert store.get(RECORDINGS, sids[4], only_old) is None
    assert store.delete(RECORDINGS, sids[4]) and not store.delete(RECORDINGS, sids[4])
    assert store.count(RECORDINGS) == 4


def test_a_failed_transaction_leaves_nothing(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction() as db:
        db.execute("INSERT INTO api_keys (sid, secret, friendly_name, created_us) VALUES ('SKx', 's', '', 0)")
        raise RuntimeError("rolled back")
    assert store.query("SELECT COUNT(*) FROM api_keys") == [(0,)]


def test_calls_and_messages_keep_their_params_as_json(store: Store) -> None:
    (sid,) = CallStore(store).insert_calls([{"to": "+15558675310"}])
    record = CallStore(store).get_call(sid)
    assert record is not None and dict(record.params) == {}
    assert store.query("SELECT params FROM calls WHERE sid = ?", (sid,)) == [("{}",)]


# -- seeding checks --------------------------------------------------------------------------------


def test_seeding_checks_say_what_was_wrong() -> None:
    assert seed_us(None) is None
    assert seed_us("2022-03-01T00:00:00Z") == seed_us(datetime(2022, 3, 1)) == DAY
    check_keys({"to": "+1"}, {"to", "from"}, "call")
    with pytest.raises(ValueError, match=r"unknown call fields \['colour'\]; known: \['from', 'to'\]"):
        check_keys({"to": "+1", "colour": "red"}, {"to", "from"}, "call")
    assert check_sid("CA" + "0" * 32, "a call", "CA") == "CA" + "0" * 32
    with pytest.raises(ValueError, match=r"'XX1' is not a message SID \(SM or MM and 32 hex digits\)"):
        check_sid("XX1", "a message", "SM", "MM")
    check_choice("status", "queued", ("queued", "ringing"))
    with pytest.raises(ValueError, match=r"status 'lost' is not one of \['queued', 'ringing'\]"):
        check_choice("status", "lost", ("queued", "ringing"))  # a sequence keeps its order
    with pytest.raises(ValueError, match=r"source 'x' is not one of \['a', 'b'\]"):
        check_choice("source", "x", frozenset({"b", "a"}))  # a set is sorted


# -- page links ------------------------------------------------------------------------------------


def test_v1_and_v2010_envelopes_give_the_same_links() -> None:
    class Row:
        def __init__(self, sid: str, created_us: int) -> None:
            self.sid, self.created_us = sid, created_us

    rows = [Row("NO" + "1" * 32, 20), Row("NO" + "2" * 32, 10)]
    request = PageRequest(page_size=2, page=1, cursor=Cursor(True, 30, "NO" + "0" * 32))
    links = PageLinks.of("/x", [("LogLevel", "error")], request, rows, True)
    assert links.first == "/x?LogLevel=error&PageSize=2&Page=0"
    assert links.next == f"/x?LogLevel=error&PageSize=2&Page=2&PageToken=PA{rows[-1].sid}-10"
    assert links.previous == f"/x?LogLevel=error&PageSize=2&Page=0&PageToken=PB{rows[0].sid}-20"
    assert links.this == f"/x?LogLevel=error&PageSize=2&Page=1&PageToken=PA{'NO' + '0' * 32}-30"

    v2010 = envelope(key="alerts", path="/x", filters=[("LogLevel", "error")], request=request, rows=rows,
                     items=[], has_more=True)
    v1 = v1_envelope(key="alerts", url="/x", filters=[("LogLevel", "error")], request=request, rows=rows,
                     items=[], has_more=True)["meta"]
    assert (v2010["first_page_uri"], v2010["next_page_uri"], v2010["previous_page_uri"], v2010["uri"]) == (
        v1["first_page_url"], v1["next_page_url"], v1["previous_page_url"], v1["url"]
    ) == (links.first, links.next, links.previous, links.this)
    last = PageLinks.of("/x", [], PageRequest(), rows, False)
    assert (last.next, last.previous) == (None, None)
