"""Real sessions: `python -m book.mcp --sandbox` in its own process, the SDK's client over stdio (and HTTP).

Each server keeps its sandbox under its own TWILIO_BOOK_HOME, so tests never share messages.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters

from sandbox import open_sandbox
from tests import ROOT

SENDER = "+15005550006"  # Twilio's magic "passes all validation" From number
RECIPIENT = "+18004446666"


def environment(home: Path) -> dict[str, str]:
    return {"TWILIO_BOOK_HOME": str(home), "TWILIO_BOOK_KEYRING": "0"}


def session(home: Path, *args: str, script):
    """Start the server with `args`, run `script(client)` against it over stdio, return what it returns."""
    params = StdioServerParameters(command=sys.executable, args=["-m", "procedures", "mcp", "--sandbox", *args],
                                   env=environment(home), cwd=ROOT)

    async def main():
        with anyio.fail_after(45):
            async with Client(params) as client:
                return await script(client)

    return anyio.run(main)


async def send(client, body: str):
    return await client.call_tool("send_an_sms_message",
                                  {"sender_number": SENDER, "recipient_number": RECIPIENT, "message_body": body})


def test_tools_send_and_run_automation_over_stdio(tmp_path):
    async def script(client):
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        sent = await send(client, "Hello from an agent")
        read = await client.call_tool("run_automation", {"text": f'read some SMS messages whose recipient number is "{RECIPIENT}"'})
        return tools, sent, read

    tools, sent, read = session(tmp_path, script=script)
    assert {"run_automation", "check_automation", "read_some_sms_messages", "send_an_sms_message"} <= set(tools)
    send_tool = tools["send_an_sms_message"]
    assert set(send_tool.input_schema["required"]) == {"sender_number", "recipient_number", "message_body"}
    assert send_tool.annotations.destructive_hint is True and send_tool.annotations.read_only_hint is False
    assert tools["read_some_sms_messages"].annotations.read_only_hint is True
    assert "filter" in tools["read_some_sms_messages"].input_schema["properties"]

    assert not sent.is_error, sent.content[0].text
    sid = sent.structured_content["result"]
    assert sid.startswith("SM")
    assert not read.is_error, read.content[0].text
    [message] = read.structured_content["items"]
    assert (message["sid"], message["body"], message["sender_number"]) == (sid, "Hello from an agent", SENDER)
    assert read.structured_content["calls"] == ["read some SMS messages"]

    sandbox = open_sandbox(tmp_path)  # not started: only to learn the secret the server's connection used
    token = sandbox.auth_token
    sandbox.close()
    said = json.dumps([t.model_dump(mode="json") for t in tools.values()] + [r.model_dump(mode="json") for r in (sent, read)])
    assert token not in said


def test_language_errors_are_tool_errors_naming_line_and_column(tmp_path):
    text = 'the sender is "+15005550006"\nsend a SMS mesage where\n  the message body is "Hi"'

    async def script(client):
        return (await client.call_tool("check_automation", {"text": text}),
                await client.call_tool("run_automation", {"text": text}),
                await client.call_tool("read_some_sms_messages", {}))

    checked, ran, read = session(tmp_path, script=script)
    for result in (checked, ran):
        assert result.is_error
        assert result.content[0].text.startswith("<automation>:2:1: I don't know how to 'send SMS mesage'")
        assert "hint: did you mean 'send an SMS message'" in result.content[0].text
        assert result.structured_content["problems"][0]["line"] == 2
        assert "Traceback" not in result.content[0].text
    assert read.structured_content["items"] == []  # nothing ran


def test_read_only_serves_only_what_changes_nothing(tmp_path):
    async def script(client):
        names = {tool.name for tool in (await client.list_tools()).tools}
        refused = await client.call_tool("run_automation", {"text": (
            f'send an SMS message where\n  the sender number is "{SENDER}"\n'
            f'  the recipient number is "{RECIPIENT}"\n  the message body is "Hi"')})
        return names, refused, await send(client, "Hi")

    names, refused, hidden = session(tmp_path, "--read-only", script=script)
    assert "send_an_sms_message" not in names
    assert {"run_automation", "check_automation", "read_some_sms_messages"} <= names
    assert refused.is_error and "read-only" in refused.content[0].text
    assert hidden.is_error and "read-only" in hidden.content[0].text


def test_reads_are_bounded_and_say_how_many_more(tmp_path):
    async def script(client):
        for n in range(7):
            assert not (await send(client, f"message {n}")).is_error
        first = await client.call_tool("read_some_sms_messages", {})
        rest = await client.call_tool("read_some_sms_messages", {"offset": first.structured_content["next_offset"]})
        narrow = await client.call_tool("read_some_sms_messages", {"filter": [
            {"field": "body", "op": "one_of", "value": ["message 1", "message 2"]},
            {"field": "recipient_number", "op": "eq", "value": RECIPIENT}]})
        ran = await client.call_tool("run_automation", {"text": "read some SMS messages"})
        return first, rest, narrow, ran

    first, rest, narrow, ran = session(tmp_path, "--max-items", "5", script=script)
    page = first.structured_content
    assert (page["returned"], page["more"], page["next_offset"], page["more_is_lower_bound"]) == (5, 2, 5, False)
    assert "offset 5" in page["how_to_get_more"] and "2 more after these" in first.content[0].text
    assert (rest.structured_content["returned"], rest.structured_content["more"]) == (2, 0)
    seen = {m["body"] for m in page["items"]} | {m["body"] for m in rest.structured_content["items"]}
    assert seen == {f"message {n}" for n in range(7)}
    assert sorted(m["body"] for m in narrow.structured_content["items"]) == ["message 1", "message 2"]
    assert (ran.structured_content["returned"], ran.structured_content["more"]) == (5, 2)


def test_streamable_http(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "procedures", "mcp", "--sandbox", "--http", "--port", str(port)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWILIO_")} | environment(tmp_path)
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(command, cwd=ROOT, env=env, stderr=log)
    try:
        _wait_for(port)

        async def main():
            with anyio.fail_after(30):
                async with Client(f"http://127.0.0.1:{port}/mcp") as client:
                    names = {tool.name for tool in (await client.list_tools()).tools}
                    return names, await send(client, "Over HTTP")

        names, sent = anyio.run(main)
        assert "send_an_sms_message" in names
        assert sent.structured_content["result"].startswith("SM")
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


def _wait_for(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"the MCP server did not listen on port {port}")
