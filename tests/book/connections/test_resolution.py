"""Which connection a run uses: an explicit name, then the environment, then the default, else none."""

from __future__ import annotations

import pytest

from book.connections import ConnectionStore, resolve_connection
from book.errors import ConnectionError_
from procedures import APP
from procedures._connection import TWILIO_METHODS
from procedures._twilio import credentials

from .support import KEY_SECRET, KEY_SID, SID, TOKEN, token_connection

TOKEN_ENV = {"TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": TOKEN}
KEY_ENV = {"TWILIO_ACCOUNT_SID": SID, "TWILIO_API_KEY": KEY_SID, "TWILIO_API_SECRET": KEY_SECRET}


def test_nothing_anywhere_means_none(store: ConnectionStore) -> None:
    assert resolve_connection(app=APP, env={}, store=store, methods=TWILIO_METHODS) is None


def test_the_default_connection(store: ConnectionStore) -> None:
    store.save(token_connection("work"))
    store.save(token_connection("play"))
    assert resolve_connection(app=APP, env={}, store=store, methods=TWILIO_METHODS).name == "work"


def test_the_environment_comes_before_the_default(store: ConnectionStore) -> None:
    store.save(token_connection("work"))
    conn = resolve_connection(app=APP, env=TOKEN_ENV, store=store, methods=TWILIO_METHODS)
    assert (conn.name, conn.method, *credentials(conn)[:2]) == ("environment", "auth_token", SID, TOKEN)


def test_an_explicit_name_comes_before_the_environment(store: ConnectionStore) -> None:
    store.save(token_connection("work"))
    store.save(token_connection("play"))
    assert resolve_connection(app=APP, name="play", env=KEY_ENV, store=store, methods=TWILIO_METHODS).name == "play"


def test_an_unknown_name_says_which_exist_and_how_to_add(store: ConnectionStore) -> None:
    store.save(token_connection("work"))
    with pytest.raises(ConnectionError_, match=r"connections: work\); add one with: twilio-book connect --name x"):
        resolve_connection(app=APP, name="x", env=TOKEN_ENV, store=store, methods=TWILIO_METHODS)


def test_an_api_key_in_the_environment(store: ConnectionStore) -> None:
    conn = resolve_connection(app=APP, env={**TOKEN_ENV, **KEY_ENV}, store=store, methods=TWILIO_METHODS)
    assert (conn.method, *credentials(conn)) == ("api_key", KEY_SID, KEY_SECRET, SID)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TWILIO_ACCOUNT_SID": SID}, "sets TWILIO_ACCOUNT_SID but not TWILIO_AUTH_TOKEN"),
        ({"TWILIO_AUTH_TOKEN": TOKEN}, "sets TWILIO_AUTH_TOKEN but not TWILIO_ACCOUNT_SID"),
        ({"TWILIO_API_KEY": KEY_SID, "TWILIO_API_SECRET": KEY_SECRET}, "but not TWILIO_ACCOUNT_SID"),
        ({"TWILIO_ACCOUNT_SID": SID, "TWILIO_API_KEY": KEY_SID}, "but not TWILIO_API_SECRET"),
    ],
)
def test_a_partial_environment_names_what_is_missing(env: dict[str, str], message: str, store: ConnectionStore) -> None:
    store.save(token_connection("work"))
    with pytest.raises(ConnectionError_, match=message) as e:
        resolve_connection(app=APP, env=env, store=store, methods=TWILIO_METHODS)
    assert TOKEN not in str(e.value) and KEY_SECRET not in str(e.value)


def test_a_malformed_environment_value_names_the_variable(store: ConnectionStore) -> None:
    with pytest.raises(ConnectionError_, match="^TWILIO_ACCOUNT_SID: Account SID is not valid"):
        resolve_connection(app=APP, env={"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": TOKEN}, store=store, methods=TWILIO_METHODS)
    with pytest.raises(ConnectionError_, match="^TWILIO_AUTH_TOKEN: Auth Token is not valid") as e:
        resolve_connection(app=APP, env={"TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": "oops" + TOKEN}, store=store, methods=TWILIO_METHODS)
    assert TOKEN not in str(e.value)


def test_empty_variables_count_as_unset(store: ConnectionStore) -> None:
    assert resolve_connection(app=APP, env={"TWILIO_ACCOUNT_SID": "", "TWILIO_AUTH_TOKEN": " "}, store=store, methods=TWILIO_METHODS) is None


def test_the_api_url_variable_overrides_any_connection(store: ConnectionStore) -> None:
    store.save(token_connection("work", api_url="https://api.example.com"))
    url = {"TWILIO_BOOK_API_URL": "http://127.0.0.1:8080/"}
    assert resolve_connection(app=APP, env=url, store=store, methods=TWILIO_METHODS).api_url == "http://127.0.0.1:8080"
    assert resolve_connection(app=APP, name="work", env=url, store=store, methods=TWILIO_METHODS).api_url == "http://127.0.0.1:8080"
    assert resolve_connection(app=APP, env={**TOKEN_ENV, **url}, store=store, methods=TWILIO_METHODS).api_url == "http://127.0.0.1:8080"
    assert resolve_connection(app=APP, env={}, store=store, methods=TWILIO_METHODS).api_url == "https://api.example.com"
    with pytest.raises(ConnectionError_, match="^TWILIO_BOOK_API_URL: API URL is not valid"):
        resolve_connection(app=APP, env={"TWILIO_BOOK_API_URL": "localhost:8080"}, store=store, methods=TWILIO_METHODS)


def test_the_store_defaults_to_the_home_folder(home) -> None:
    ConnectionStore(home, app=APP, keyring=None).save(token_connection("work"))
    assert resolve_connection(app=APP, env={}).name == "work"


def test_only_the_methods_given_are_read_from_the_environment(store: ConnectionStore) -> None:
    store.save(token_connection("work"))
    assert resolve_connection(app=APP, env=TOKEN_ENV, store=store, methods=TWILIO_METHODS).name == "environment"  # the Twilio book's methods
    assert resolve_connection(app=APP, env=TOKEN_ENV, store=store, methods=()).name == "work"
