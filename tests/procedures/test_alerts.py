"""Monitor v1 alerts in English, through the real SDK against the sandbox (whose clock is the real one)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from book.errors import InputError, NotFoundError
from book.filters import Condition, Pushdown
from concepts import TwilioAlert
from procedures import BOOK
from procedures.alerts import alert_window, check_retention
from sandbox import SandboxServer
from sandbox.alerts import insert_alerts
from tests.conftest import requests_sent

NOW = datetime.now(timezone.utc).replace(microsecond=0)




def seed(sandbox: SandboxServer, *rows: dict) -> list[str]:
    return insert_alerts(sandbox.store, rows)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_the_log_level_is_sent_to_twilio(sandbox, english, session):
    errors = seed(sandbox, *({"log_level": "error", "date_created": NOW - timedelta(minutes=i)} for i in range(3)))
    seed(sandbox, *({"log_level": "warning", "date_created": NOW - timedelta(hours=1)} for _ in range(1500)))
    found = english('read some Twilio alerts whose log level is "error"').value
    assert [a.sid for a in found] == errors
    assert requests_sent(session) == 1  # filtered locally, the 1,500 warnings would take two pages
    alert = found[0]
    assert isinstance(alert, TwilioAlert)
    assert (alert.error_code, alert.log_level, alert.more_info) == (11200, "error", "https://www.twilio.com/docs/errors/11200")
    assert alert.date_created == NOW and alert.url.startswith("https://monitor.twilio.com/v1/Alerts/NO")


def test_paging_follows_the_absolute_monitor_next_page_url(sandbox, english, session):
    sids = seed(sandbox, *({"date_created": NOW - timedelta(seconds=i)} for i in range(1003)))
    found = english("read some Twilio alerts whose alert text contains \"11200\"").value  # local: full pages
    assert [a.sid for a in found] == sids
    assert requests_sent(session) == 2
    assert [a.sid for a in english("read 2 Twilio alerts").value] == sids[:2]
    assert requests_sent(session) == 3


def test_a_date_range_is_sent_as_start_and_end_date_and_refined_locally(sandbox, english):
    hour = timedelta(hours=1)
    sids = seed(sandbox, *({"date_created": NOW - n * hour} for n in range(6)))
    found = english(f'the start date is "{iso(NOW - 4 * hour)}"\n'
                    f'the end date is "{iso(NOW - hour)}"\n'
                    "read some Twilio alerts whose date created is after the start date "
                    "and whose date created is at most the end date").value
    assert [a.sid for a in found] == sids[1:4]
    today = english(f"read some Twilio alerts whose date created is {NOW.date().isoformat()}").value
    assert [a.sid for a in today] == [sid for n, sid in enumerate(sids) if (NOW - n * hour).date() == NOW.date()]


@pytest.mark.parametrize("clause", [
    "whose date created is after 2020-01-01",
    "whose date created is 2020-01-01",
    "whose date created is before 2020-01-01",
    f"whose date created is at least {(NOW - timedelta(days=32)).date().isoformat()}",
    f"whose log level is \"error\" and whose date created is after {iso(NOW - timedelta(days=31))}",
], ids=["after 2020", "on 2020", "before 2020", "32 days back", "31 days back with a level"])  # ids without the
# clock: each xdist worker collects at its own moment, and must collect the same tests
def test_a_range_older_than_30_days_is_refused_before_any_request(english, session, clause):
    with pytest.raises(InputError, match="Twilio keeps alerts for 30 days only.*nothing was sent"):
        english(f"read some Twilio alerts {clause}")
    assert requests_sent(session) == 0


def test_thirty_days_back_is_still_allowed(sandbox, english):
    (sid,) = seed(sandbox, {"date_created": NOW - timedelta(days=29)})
    found = english(f"read some Twilio alerts whose date created is at least {(NOW - timedelta(days=30)).date()}").value
    assert [a.sid for a in found] == [sid]


def test_an_unknown_log_level_is_refused_before_any_request(english, session):
    with pytest.raises(InputError, match="'fatal' is not a log level; the log levels are error, warning, notice, debug"):
        english('read some Twilio alerts whose log level is "fatal"')
    assert requests_sent(session) == 0


def test_fields_twilio_cannot_filter_are_filtered_locally(sandbox, english):
    webhook, _ = seed(sandbox, {"error_code": "11200", "request_url": "https://example.com/sms", "request_method": "POST"},
                      {"error_code": "12300", "request_url": "https://example.org/voice"})
    found = english("read some Twilio alerts whose error code is 11200 "
                    'and whose request url starts with "https://example.com"').value
    assert [a.sid for a in found] == [webhook]
    assert english('read some Twilio alerts whose request method is "GET"').value == []


def test_one_alert_by_sid_has_the_request_details(sandbox, english, session):
    (sid,) = seed(sandbox, {"request_variables": "Body=hi", "response_body": "<html>oops</html>", "request_method": "POST"})
    alert = english(f'read a Twilio alert whose sid is "{sid}"').value
    assert (alert.request_variables, alert.response_body, alert.request_method) == ("Body=hi", "<html>oops</html>", "POST")
    assert requests_sent(session) == 1
    with pytest.raises(NotFoundError, match="no twilio alert matches"):
        english(f'read a Twilio alert whose sid is "NO{"0" * 32}"')


def test_every_example_runs(sandbox, english):
    procedure = next(p for p in BOOK.registry if p.english == "read some Twilio alerts")
    seed(sandbox, {"log_level": "error"}, {"log_level": "warning", "request_url": "https://example.com/status"})
    for example in procedure.examples:
        assert english(example.text).value, f"{example.title!r} found nothing"


# -- the date window and the 30 days, on their own -------------------------------------------------

def window(*conditions: Condition) -> tuple[datetime | None, datetime | None]:
    return alert_window(Pushdown(conditions, True))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def test_whole_days_widen_to_midnights_and_instants_to_whole_seconds():
    assert window(Condition("date_created", "eq", date(2022, 3, 1))) == (utc(2022, 3, 1), utc(2022, 3, 2))
    assert window(Condition("date_created", "gt", date(2022, 3, 1)),
                  Condition("date_created", "lt", date(2022, 3, 5))) == (utc(2022, 3, 2), utc(2022, 3, 5))
    assert window(Condition("date_created", "ge", date(2022, 3, 1)),
                  Condition("date_created", "le", date(2022, 3, 5))) == (utc(2022, 3, 1), utc(2022, 3, 6))
    instant = datetime(2022, 3, 1, 15, 30, 0, 500_000, tzinfo=timezone.utc)
    assert window(Condition("date_created", "le", instant)) == (None, utc(2022, 3, 1, 15, 30, 1))
    assert window(Condition("date_created", "gt", instant)) == (utc(2022, 3, 1, 15, 30), None)
    naive = datetime(2022, 3, 1, 15, 30)
    assert window(Condition("date_created", "ge", naive)) == (utc(2022, 3, 1, 15, 30), None)


def test_the_oldest_start_is_the_day_thirty_days_ago():
    now = utc(2022, 3, 31, 12)
    check_retention(utc(2022, 3, 1), None, now)
    check_retention(None, utc(2022, 3, 1), now)
    check_retention(None, None, now)
    with pytest.raises(InputError, match="starts on 2022-02-28.*from 2022-03-01"):
        check_retention(utc(2022, 2, 28, 23, 59), utc(2022, 3, 30), now)
    with pytest.raises(InputError, match="ends on 2022-02-28"):
        check_retention(None, utc(2022, 2, 28), now)
