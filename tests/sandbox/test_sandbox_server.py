"""The sandbox as a server: credentials, auth errors, account fetch, persistence, reset, lifecycle."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

import sandbox
from procedures.http import BookHttpClient
from sandbox import SandboxServer, open_sandbox, sandbox_db_path
from sandbox.errors import SandboxError
from sandbox.store import MESSAGES
from tests.conftest import RECIPIENT, SENDER

AC = re.compile(r"^AC[0-9a-f]{32}$")
TOKEN = re.compile(r"^[0-9a-f]{32}$")


def client_for(sandbox: SandboxServer, username: str, password: str, account_sid: str | None = None) -> Client:
    return Client(username, password, account_sid, http_client=BookHttpClient(sandbox.url))


def test_credentials_look_like_twilio_ones(sandbox: SandboxServer) -> None:
    assert AC.match(sandbox.account_sid)
    assert TOKEN.match(sandbox.auth_token)
    assert re.match(r"^http://127\.0\.0\.1:\d+$", sandbox.url)
    assert sandbox.auth_token not in repr(sandbox)


def test_fetch_account(client: Client, sandbox: SandboxServer) -> None:
    account = client.api.account.fetch()
    assert account.sid == account.owner_account_sid == sandbox.account_sid
    assert (account.status, account.type) == ("active", "Full")
    assert account.subresource_uris["messages"] == f"/2010-04-01/Accounts/{sandbox.account_sid}/Messages.json"


def test_wrong_token_is_20003(sandbox: SandboxServer) -> None:
    client = client_for(sandbox, sandbox.account_sid, "0" * 32)
    with pytest.raises(TwilioRestException) as caught:
        client.messages.create(to=RECIPIENT, from_=SENDER, body="nope")
    assert (caught.value.status, caught.value.code) == (401, 20003)
    assert sandbox.store.count(MESSAGES) == 0


def test_another_accounts_path_is_refused(sandbox: SandboxServer) -> None:
    client = client_for(sandbox, sandbox.account_sid, sandbox.auth_token)
    with pytest.raises(TwilioRestException) as caught:
        client.api.accounts("AC" + "f" * 32).messages("SM" + "0" * 32).fetch()
    assert (caught.value.status, caught.value.code) == (401, 20003)


def test_missing_or_garbled_authorization_is_401(sandbox: SandboxServer) -> None:
    uri = f"{sandbox.url}/2010-04-01/Accounts/{sandbox.account_sid}.json"
    for headers in ({}, {"Authorization": "Basic !!!"}, {"Authorization": "Bearer abc"}):
        response = requests.get(uri, headers=headers, timeout=10)
        assert response.status_code == 401
        assert response.json() == {
            "code": 20003,
            "message": "Authenticate",
            "more_info": "https://www.twilio.com/docs/errors/20003",
            "status": 401,
            "detail": "Your AccountSid or AuthToken was incorrect.",
        }


def test_api_key_credentials_work_and_do_not_see_the_auth_token(sandbox: SandboxServer) -> None:
    key_sid, secret = sandbox.store.create_api_key("book tests")
    client = client_for(sandbox, key_sid, secret, sandbox.account_sid)
    assert client.messages.create(to=RECIPIENT, from_=SENDER, body="by key").status == "queued"
    assert client.api.account.fetch().auth_token is None
    with pytest.raises(TwilioRestException) as caught:
        client_for(sandbox, key_sid, "wrong", sandbox.account_sid).api.account.fetch()
    assert caught.value.code == 20003


def test_unknown_path_and_method_errors(sandbox: SandboxServer) -> None:
    auth = (sandbox.account_sid, sandbox.auth_token)
    missing = requests.get(f"{sandbox.url}/2010-04-01/Nothing.json", auth=auth, timeout=10)
    assert missing.status_code == 404
    assert missing.json()["code"] == 20404
    assert "/2010-04-01/Nothing.json" in missing.json()["message"]
    wrong = requests.put(f"{sandbox.url}/2010-04-01/Accounts/{sandbox.account_sid}/Messages.json", auth=auth, timeout=10)
    assert (wrong.status_code, wrong.json()["code"]) == (405, 20004)


def test_data_and_credentials_persist_across_servers(db_path: Path) -> None:
    with SandboxServer(db_path=db_path) as first:
        credentials = (first.account_sid, first.auth_token)
        sid = client_for(first, *credentials).messages.create(to=RECIPIENT, from_=SENDER, body="kept").sid

    with SandboxServer(db_path=db_path) as second:
        assert (second.account_sid, second.auth_token) == credentials
        assert client_for(second, *credentials).messages(sid).fetch().body == "kept"


def test_reset_empties_data_but_keeps_credentials(sandbox: SandboxServer, client: Client) -> None:
    credentials = (sandbox.account_sid, sandbox.auth_token)
    client.messages.create(to=RECIPIENT, from_=SENDER, body="gone soon")

    sandbox.reset()

    assert client.messages.list() == []
    assert (sandbox.account_sid, sandbox.auth_token) == credentials


def test_open_sandbox_keeps_its_data_in_home(tmp_path: Path) -> None:
    with open_sandbox(tmp_path) as sandbox:
        assert sandbox.running
        assert Path(sandbox.store.path) == sandbox_db_path(tmp_path) == tmp_path / "sandbox.sqlite3"
    assert (tmp_path / "sandbox.sqlite3").exists()


def test_a_busy_port_is_a_sandbox_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = SandboxServer(tmp_path / "db.sqlite3", port=port)
        with pytest.raises(SandboxError, match="could not listen"):
            server.start()
        server.close()


def test_url_before_start_is_a_sandbox_error(tmp_path: Path) -> None:
    server = SandboxServer(tmp_path / "db.sqlite3")
    with pytest.raises(SandboxError, match="not running"):
        _ = server.url
    server.close()


def test_serve_prints_url_and_credentials_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", f"from pathlib import Path; from sandbox import serve; serve(home=Path({str(tmp_path)!r}))"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(5)]
        url = re.search(r"listening at (http://127\.0\.0\.1:\d+)", lines[0]).group(1)  # type: ignore[union-attr]
        sid = lines[1].split()[-1]
        token = lines[2].split()[-1]
        assert requests.get(f"{url}/2010-04-01/Accounts/{sid}.json", auth=(sid, token), timeout=10).status_code == 200
        process.send_signal(signal.SIGINT)
        assert "Sandbox stopped." in process.communicate(timeout=10)[0]
    finally:
        process.kill()
        process.wait()
    with SandboxServer(sandbox_db_path(tmp_path)) as again:  # the same database: the same credentials
        assert (again.account_sid, again.auth_token) == (sid, token)


def test_public_surface_is_exported() -> None:
    for name in sandbox.__all__:
        assert hasattr(sandbox, name), name
    assert {"SandboxServer", "Store", "create_app", "open_sandbox", "serve", "ManualClock"} <= set(sandbox.__all__)


def test_a_file_that_is_not_a_database_is_a_sandbox_error(tmp_path: Path) -> None:
    garbage = tmp_path / "sandbox.sqlite3"
    garbage.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(SandboxError, match="not usable"):
        SandboxServer(garbage)


def test_the_database_file_is_private(db_path: Path) -> None:
    SandboxServer(db_path).close()
    assert db_path.stat().st_mode & 0o077 == 0
