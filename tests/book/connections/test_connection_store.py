"""The connection store: a private file replaced atomically, a default, and an optional keyring."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from book.connections import ConnectionStore, system_keyring
from book.errors import ConnectionError_
from procedures import APP

from .support import SID, TOKEN, token_connection


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_file_is_mode_600_from_the_first_save_on(store: ConnectionStore) -> None:
    store.save(token_connection("work"))
    assert mode(store.path) == 0o600
    store.save(token_connection("play"))
    store.set_default("play")
    store.remove("work")
    assert mode(store.path) == 0o600
    assert sorted(os.listdir(store.home)) == ["connections.json"]  # no temporary file left behind


def test_a_wide_open_umask_does_not_widen_the_file(store: ConnectionStore) -> None:
    old = os.umask(0)
    try:
        store.save(token_connection())
    finally:
        os.umask(old)
    assert mode(store.path) == 0o600


def test_the_file_is_created_private(store: ConnectionStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file the store creates is opened with mode 600 itself: there is no chmod-after window."""
    created: list[int] = []
    real_open = os.open

    def spy(path, flags, mode=0o777, *args, **kwargs):
        if flags & os.O_CREAT:
            created.append(mode)
        return real_open(path, flags, mode, *args, **kwargs)

    monkeypatch.setattr(os, "open", spy)
    store.save(token_connection())
    assert created and all(m == 0o600 for m in created)


def test_a_failed_write_leaves_the_old_file_whole(store: ConnectionStore, monkeypatch: pytest.MonkeyPatch) -> None:
    store.save(token_connection("work"))
    before = store.path.read_bytes()

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        store.save(token_connection("play"))
    monkeypatch.undo()
    assert store.path.read_bytes() == before
    assert sorted(os.listdir(store.home)) == ["connections.json"]


def test_save_get_and_the_secret_round_trip(store: ConnectionStore) -> None:
    conn = token_connection("work", api_url="http://127.0.0.1:8080")
    assert store.save(conn) == "file"
    again = store.get("work")
    assert again == conn
    assert again.value("auth_token") == TOKEN
    assert again.api_url == "http://127.0.0.1:8080"


def test_the_first_connection_saved_becomes_the_default(store: ConnectionStore) -> None:
    assert store.default_name is None
    store.save(token_connection("work"))
    store.save(token_connection("play"))
    assert store.default_name == "work"
    store.save(token_connection("play"), make_default=True)
    assert store.default_name == "play"
    store.set_default("work")
    assert store.default_name == "work"


def test_removing_the_default(store: ConnectionStore) -> None:
    for name in ("a", "b", "c"):
        store.save(token_connection(name))
    store.remove("a")
    assert store.default_name is None  # two left: the user chooses
    assert store.names() == ["b", "c"]
    store.set_default("b")
    store.remove("b")
    assert store.default_name == "c"  # one left: it is the default


def test_unknown_names_list_the_saved_ones_and_how_to_add(store: ConnectionStore) -> None:
    store.save(token_connection("work"))
    for action in (store.get, store.remove, store.set_default):
        with pytest.raises(ConnectionError_) as e:
            action("wrok")
        assert str(e.value) == (
            "no connection named 'wrok' (saved connections: work); add one with: twilio-book connect --name wrok"
        )


def test_list_shows_no_secret(store: ConnectionStore) -> None:
    store.save(token_connection("work"))
    store.save(token_connection("play"))
    rows = store.list()
    assert [(r.name, r.method, r.account, r.default, r.secrets_in) for r in rows] == [
        ("play", "auth_token", SID, False, "file"),
        ("work", "auth_token", SID, True, "file"),
    ]
    assert TOKEN not in repr(rows)


def test_bad_names_and_a_corrupt_file(store: ConnectionStore) -> None:
    with pytest.raises(ConnectionError_, match="cannot name a connection"):
        store.save(token_connection("my work"))
    store.home.mkdir(parents=True, exist_ok=True)
    store.path.write_text("{not json")
    with pytest.raises(ConnectionError_, match="is not a valid connections file.*twilio-book connect"):
        store.list()


# -- the optional system keyring -----------------------------------------------------------------------


class FakeKeyring:
    def __init__(self, refuse: bool = False) -> None:
        self.secrets: dict[tuple[str, str], str] = {}
        self.refuse = refuse

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        if self.refuse:
            raise RuntimeError("locked")
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        del self.secrets[(service, username)]


def test_with_a_keyring_the_file_keeps_only_a_marker(home: Path) -> None:
    keyring = FakeKeyring()
    store = ConnectionStore(home, app=APP, keyring=keyring)
    assert store.save(token_connection("work")) == "keyring"
    assert TOKEN not in store.path.read_text()
    assert json.loads(store.path.read_text())["connections"]["work"]["secrets"] == {
        "auth_token": {"keyring": "twilio-book"}
    }
    assert keyring.secrets == {("twilio-book", "work/auth_token"): TOKEN}
    assert store.get("work").value("auth_token") == TOKEN
    assert store.list()[0].secrets_in == "keyring"
    store.remove("work")
    assert keyring.secrets == {}


def test_a_refusing_keyring_falls_back_to_the_private_file(home: Path) -> None:
    store = ConnectionStore(home, app=APP, keyring=FakeKeyring(refuse=True))
    assert store.save(token_connection()) == "file"
    assert store.get("work").value("auth_token") == TOKEN


def test_a_keyring_secret_without_a_keyring_is_a_clear_error(home: Path) -> None:
    ConnectionStore(home, app=APP, keyring=FakeKeyring()).save(token_connection("work"))
    with pytest.raises(ConnectionError_, match="kept in the system keyring.*twilio-book connect --name work"):
        ConnectionStore(home, app=APP, keyring=None).get("work")


def test_the_system_keyring_is_off_when_disabled_or_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    assert system_keyring(APP, {"TWILIO_BOOK_KEYRING": "0"}) is None
    monkeypatch.setitem(sys.modules, "keyring", None)  # as if not installed
    assert system_keyring(APP, {}) is None


def test_a_real_keyring_backend_is_used_when_one_is_active(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import keyring  # a test dependency: the keyring extra is tested, not skipped
    from keyring.backend import KeyringBackend

    class Memory(KeyringBackend):
        priority = 1  # type: ignore[assignment]

        def __init__(self) -> None:
            self.secrets: dict[tuple[str, str], str] = {}

        def get_password(self, service: str, username: str) -> str | None:
            return self.secrets.get((service, username))

        def set_password(self, service: str, username: str, password: str) -> None:
            self.secrets[(service, username)] = password

        def delete_password(self, service: str, username: str) -> None:
            del self.secrets[(service, username)]

    previous = keyring.get_keyring()
    keyring.set_keyring(Memory())
    try:
        monkeypatch.delenv("TWILIO_BOOK_KEYRING")
        assert system_keyring(APP) is keyring
        store = ConnectionStore(home, app=APP)
        assert store.save(token_connection("work")) == "keyring"
        assert TOKEN not in store.path.read_text()
        assert ConnectionStore(home, app=APP).get("work").value("auth_token") == TOKEN
    finally:
        keyring.set_keyring(previous)
