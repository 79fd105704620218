"""Signatures as Twilio makes them, and the URL they are checked against."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from book.errors import ConnectionError_
from procedures.webhooks.signature import Params, SignatureCheck, check_public_url
from sandbox.callbacks import sign

# Twilio's own example (the twilio-python test suite and the security docs).
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
FORM = {"CallSid": "CA1234567890ABCDE", "Caller": "+14158675309", "Digits": "1234", "From": "+14158675309",
        "To": "+18005551212"}
EXPECTED = "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def grouped(form: dict[str, str]) -> Params:
    return Params.of(list(form.items()))


def test_sign_is_twilios_hmac_sha1_over_the_url_and_the_sorted_parameters():
    assert sign("12345", URL, grouped(FORM)) == EXPECTED
    text = URL + "".join(name + FORM[name] for name in sorted(FORM))
    assert base64.b64encode(hmac.new(b"12345", text.encode(), hashlib.sha1).digest()).decode() == EXPECTED


def test_a_repeated_parameter_signs_every_value():
    params = Params.of([("MediaUrl", "b"), ("MediaUrl", "a"), ("To", "+1")])
    assert sign("12345", URL, params) != sign("12345", URL, Params.of([("MediaUrl", "a"), ("To", "+1")]))
    assert SignatureCheck("12345").valid(URL, params, sign("12345", URL, params))


def test_valid_needs_the_right_token_url_parameters_and_a_signature():
    check = SignatureCheck("12345")
    assert check.valid(URL, grouped(FORM), EXPECTED)
    assert not check.valid(URL, grouped(FORM), None)
    assert not check.valid(URL, grouped(FORM), "")
    assert not check.valid(URL + "&baz=3", grouped(FORM), EXPECTED)
    assert not check.valid(URL, grouped({**FORM, "Digits": "4321"}), EXPECTED)
    assert not SignatureCheck("54321").valid(URL, grouped(FORM), EXPECTED)


def test_the_url_checked_is_the_public_one_with_the_requests_path_and_query():
    check = SignatureCheck("12345", "https://mycompany.com")
    assert check.url_called("http://127.0.0.1:8080/myapp.php?foo=1&bar=2") == URL
    assert check.valid("http://127.0.0.1:8080/myapp.php?foo=1&bar=2", grouped(FORM), EXPECTED)
    assert not SignatureCheck("12345").valid("http://127.0.0.1:8080/myapp.php?foo=1&bar=2", grouped(FORM), EXPECTED)


def test_the_token_is_never_shown():
    assert "12345" not in repr(SignatureCheck("12345", "https://example.com"))


@pytest.mark.parametrize("url", ["example.com", "ftp://example.com", "https://", "https://example.com/?a=1"])
def test_a_public_url_must_be_a_base_url(url):
    with pytest.raises(ConnectionError_, match="not a base URL"):
        check_public_url(url)


def test_a_public_url_loses_its_trailing_slash():
    assert check_public_url("https://abc.ngrok.app/hooks/") == "https://abc.ngrok.app/hooks"


@pytest.mark.parametrize("url", ["https://user:s3cret@hooks.example.com", "https://s3cret@hooks.example.com/book",
                                 "user:s3cret@hooks.example.com", "https://user:s3cret@[::1"])
def test_a_public_url_with_a_user_or_password_is_refused_without_repeating_it(url):
    with pytest.raises(ConnectionError_) as caught:
        check_public_url(url)
    assert "s3cret" not in str(caught.value)


def test_a_public_url_with_a_port_past_65535_is_refused():
    with pytest.raises(ConnectionError_, match="not a base URL"):
        check_public_url("https://hooks.example.com:99999")
