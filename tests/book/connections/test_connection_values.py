"""Connection methods as data: shape checks, and secrets that never show."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from book.connections import AuthenticationError, Connection, check_api_url, method_for
from book.errors import ConnectionError_
from procedures import BOOK
from procedures._connection import ACCOUNT_SID_AND_AUTH_TOKEN, API_KEY, TWILIO_METHODS, verify_connection
from procedures._twilio import credentials

from .support import KEY_SECRET, KEY_SID, SID, TOKEN, FakeTwilio, account_body, token_connection


def test_the_auth_token_method_says_what_the_reference_says() -> None:
    m = ACCOUNT_SID_AND_AUTH_TOKEN
    assert (m.title, m.description) == (
        "Connect using Account SID and Auth Token",
        "Connect to the Twilio API using account credentials.",
    )
    assert [(f.label, f.description, f.type, f.env) for f in m.fields] == [
        ("Account SID", "The Account SID from your Twilio account.", "text", "TWILIO_ACCOUNT_SID"),
        ("Auth Token", "The Auth Token from your Twilio account.", "sensitive", "TWILIO_AUTH_TOKEN"),
    ]
    assert [f.env for f in API_KEY.fields] == ["TWILIO_ACCOUNT_SID", "TWILIO_API_KEY", "TWILIO_API_SECRET"]
    assert TWILIO_METHODS == (ACCOUNT_SID_AND_AUTH_TOKEN, API_KEY)


def test_the_twilio_book_carries_its_methods_and_its_check() -> None:
    assert BOOK.connection_methods == TWILIO_METHODS
    assert BOOK.verify_connection is verify_connection


def test_a_mistyped_sid_is_named_with_its_label_value_and_shape() -> None:
    with pytest.raises(ConnectionError_) as e:
        ACCOUNT_SID_AND_AUTH_TOKEN.validate({"account_sid": "AC123", "auth_token": TOKEN})
    assert str(e.value) == (
        "Account SID is not valid ('AC12…' (5 characters)): an Account SID is AC followed by 32 hexadecimal characters"
    )


def test_a_malformed_secret_is_named_but_never_repeated() -> None:
    bad = "not-a-token-" + TOKEN[:10]
    with pytest.raises(ConnectionError_) as e:
        ACCOUNT_SID_AND_AUTH_TOKEN.validate({"account_sid": SID, "auth_token": bad})
    assert "Auth Token is not valid" in str(e.value)
    assert "32 hexadecimal characters" in str(e.value)
    assert bad not in str(e.value)


def test_missing_and_unknown_fields() -> None:
    with pytest.raises(ConnectionError_, match="Auth Token is missing: The Auth Token from your Twilio account."):
        ACCOUNT_SID_AND_AUTH_TOKEN.validate({"account_sid": SID, "auth_token": "  "})
    with pytest.raises(ConnectionError_, match="has no field api_key_sid"):
        ACCOUNT_SID_AND_AUTH_TOKEN.validate({"account_sid": SID, "auth_token": TOKEN, "api_key_sid": KEY_SID})
    with pytest.raises(ConnectionError_, match="API Key SID is not valid.*SK followed by 32"):
        API_KEY.validate({"account_sid": SID, "api_key_sid": SID, "api_key_secret": KEY_SECRET})


def test_validate_trims_blanks_and_wraps_secrets() -> None:
    values = ACCOUNT_SID_AND_AUTH_TOKEN.validate({"account_sid": f"  {SID}\n", "auth_token": f"{TOKEN}\r\n"})
    assert values["account_sid"] == SID
    assert isinstance(values["auth_token"], SecretStr)
    assert values["auth_token"].get_secret_value() == TOKEN


def test_api_url_and_method_lookup() -> None:
    assert check_api_url("http://127.0.0.1:8080/") == "http://127.0.0.1:8080"
    assert check_api_url(None) is None
    for bad in ("ftp://example.com", "localhost:8080"):
        with pytest.raises(ConnectionError_, match=f"API URL is not valid \\('{bad}'\\): an API URL is scheme"):
            check_api_url(bad)
    with pytest.raises(ConnectionError_, match="must not contain a user name or password") as e:
        check_api_url(f"https://{SID}:{TOKEN}@api.example.com")
    assert TOKEN[:4] not in str(e.value)
    assert method_for("api_key", TWILIO_METHODS) is API_KEY
    with pytest.raises(ConnectionError_, match="use one of: auth_token, api_key"):
        method_for("oauth", TWILIO_METHODS)


def test_sdk_username_and_password_per_method() -> None:
    conn = token_connection()
    assert credentials(conn) == (SID, TOKEN, SID)
    key = API_KEY.connection("k", {"account_sid": SID, "api_key_sid": KEY_SID, "api_key_secret": KEY_SECRET})
    assert credentials(key) == (KEY_SID, KEY_SECRET, SID)


def test_a_secret_never_shows_in_repr_str_json_or_an_error() -> None:
    conn = token_connection(api_url="http://127.0.0.1:9")
    texts = [repr(conn), str(conn), f"{conn}", f"{conn!r}", conn.model_dump_json(), str(conn.model_dump())]
    try:
        raise ConnectionError_(f"cannot use {conn} / {conn!r}")
    except ConnectionError_ as e:
        texts.append(str(e))
        texts.append(repr(e))
    for text in texts:
        assert TOKEN not in text
    assert SID not in str(conn) and f"account {SID[:4]}…" in str(conn)
    assert "**********" in conn.model_dump_json()


def test_connections_are_immutable_and_strict() -> None:
    conn = token_connection()
    with pytest.raises(ValidationError, match="frozen"):
        conn.name = "other"  # type: ignore[misc]
    with pytest.raises(ValidationError, match="extra"):
        Connection(name="x", method="auth_token", values={}, extra=1)  # type: ignore[call-arg]


# -- verify_connection, against a fake Twilio HTTP client ------------------------------------------------


def test_verify_returns_the_friendly_name_and_authenticates_with_the_sdk() -> None:
    http = FakeTwilio(200, account_body("My First Account"))
    assert verify_connection(token_connection(), http_client=http) == "My First Account"
    method, uri, auth = http.requests[0]
    assert method == "GET" and uri.endswith(f"/2010-04-01/Accounts/{SID}.json")
    assert auth == (SID, TOKEN)


def test_verify_reports_bad_credentials_with_twilios_code_and_no_secret() -> None:
    body = {"code": 20003, "message": f"Authenticate {TOKEN}", "status": 401}
    with pytest.raises(AuthenticationError) as e:
        verify_connection(token_connection(), http_client=FakeTwilio(401, body))
    assert e.value.code == 20003
    assert str(e.value).startswith("authentication failed: Twilio error 20003 (HTTP 401)")
    assert "check the Account SID and Auth Token" in str(e.value)
    assert TOKEN not in str(e.value)


@pytest.mark.parametrize(
    ("http", "expected"),
    [
        (
            FakeTwilio(500, {"code": 20500, "message": f"boom {TOKEN}"}),
            "answered Twilio error 20500 (HTTP 500): Unable to fetch record: boom **********",
        ),
        (FakeTwilio(raises=OSError(f"connection refused near {TOKEN}")), "OSError: connection refused near **********"),
    ],
)
def test_other_failures_give_the_reason_without_the_secret(http: FakeTwilio, expected: str) -> None:
    with pytest.raises(ConnectionError_) as e:
        verify_connection(token_connection(), http_client=http)
    assert not isinstance(e.value, AuthenticationError)
    assert expected in str(e.value)
    assert TOKEN not in str(e.value)


def test_importing_the_wizard_loads_neither_the_book_nor_the_sdk_nor_keyring() -> None:
    import subprocess
    import sys

    code = ("import sys, book.wizard; "
            "print(sorted(m for m in ('twilio', 'keyring', 'procedures', 'lark') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
