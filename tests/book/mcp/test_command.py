"""`twilio-book mcp` as the CLI registers it, and the package's public surface."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

import book.mcp
from book.commands.mcp import add_mcp_commands, cmd_mcp
from book.errors import BookError
from procedures import APP


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="twilio-book")
    add_mcp_commands(parser.add_subparsers(dest="command"), APP)
    parser.set_defaults(app=APP)
    return parser.parse_args(["mcp", *argv])


def test_the_command_and_its_options():
    args = parse()
    assert (args.http, args.host, args.port, args.sandbox, args.read_only, args.max_items, args.connection) == (
        False, None, None, False, False, 50, None)
    assert args.func is cmd_mcp
    args = parse("--http", "--host", "0.0.0.0", "--port", "9000", "--connection", "work", "--read-only", "--max-items", "7")
    assert (args.http, args.host, args.port, args.connection, args.read_only, args.max_items) == (
        True, "0.0.0.0", 9000, "work", True, 7)


def test_max_items_must_be_positive(capsys):
    with pytest.raises(SystemExit):
        parse("--max-items", "0")
    assert "is not a whole number of 1 or more" in capsys.readouterr().err


def test_host_and_port_go_with_http():
    with pytest.raises(BookError, match="add --http"):
        cmd_mcp(parse("--port", "9000"))


def test_registering_the_command_imports_neither_the_sdk_nor_the_book():
    code = ("import sys, argparse; from book.commands.mcp import add_mcp_commands; from procedures import APP; "
            "add_mcp_commands(argparse.ArgumentParser().add_subparsers(), APP); "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'mcp', 'mcp_types', 'pydantic', 'twilio'} "
            "| {'procedures._registered'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_all_names_the_public_surface():
    for name in book.mcp.__all__:
        assert getattr(book.mcp, name) is not None
    assert sorted(dir(book.mcp)) == sorted(book.mcp.__all__)
    with pytest.raises(AttributeError):
        book.mcp.nothing  # noqa: B018
