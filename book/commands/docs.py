"""`docs`: generate the book's reference (`book.docs`) in Markdown and JSON, or check it is up to date."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def add_docs_commands(subparsers: Any, app: Any) -> None:
    """Register `docs [--output DIR] [--json FILE] [--check]`; its `func(args)` returns an exit code."""
    docs = subparsers.add_parser(
        "docs",
        help="generate the book's reference in Markdown (and JSON for agent platforms)",
        description="Generate the book's reference from its procedures, docstrings and connection methods: "
        "an index, a page per procedure and per concept, and book.json. With --json alone, only the JSON "
        "export is written. With --check, nothing is written: exit 1 if the files differ from what would "
        "be generated.",
    )
    docs.add_argument("--output", "-o", metavar="DIR", help="the folder of the pages (default: docs)")
    docs.add_argument("--json", metavar="FILE",
                      help="write the JSON export to FILE (- for standard output); alone, it writes no pages")
    docs.add_argument("--check", action="store_true", help="write nothing; exit 1 if the generated files are out of date")
    docs.set_defaults(func=_cmd_docs)


def _cmd_docs(args: argparse.Namespace) -> int:
    from book.docs import export_json, out_of_date, write_docs

    book = args.app.load_book()
    program = book.app.program
    out_dir = args.output or (None if args.json else "docs")
    json_text = json.dumps(export_json(book), indent=2, ensure_ascii=False) + "\n" if args.json else None
    if args.check:
        problems = out_of_date(book, out_dir) if out_dir is not None else []
        if json_text is not None and args.json != "-":
            path = Path(args.json)
            if not path.exists() or path.read_text(encoding="utf-8") != json_text:
                problems.append(f"{args.json} (changed)" if path.exists() else f"{args.json} (missing)")
        if problems:
            where = f" in {out_dir}" if out_dir is not None else ""
            command = f"{program} docs" + (f" --output {out_dir}" if out_dir else "") + (f" --json {args.json}" if args.json else "")
            print(f"{program} docs: {len(problems)} generated file{'s' if len(problems) != 1 else ''}{where} "
                  "out of date:", file=sys.stderr)
            for problem in problems:
                print(f"  {problem}", file=sys.stderr)
            print(f"regenerate with: {command}", file=sys.stderr)
            return 1
        print(f"{program} docs: up to date", file=sys.stderr)
        return 0
    if out_dir is not None:
        changed = write_docs(book, out_dir)
        print(f"{program} docs: {len(changed)} file{'s' if len(changed) != 1 else ''} changed in {out_dir}", file=sys.stderr)
    if json_text is not None:
        if args.json == "-":
            sys.stdout.write(json_text)
        else:
            Path(args.json).write_text(json_text, encoding="utf-8", newline="\n")
    return 0
