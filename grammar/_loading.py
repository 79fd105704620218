"""Load a Lark LALR parser from its `.lark` file without rebuilding its tables at every start.

Building the tables of a grammar costs far more than reading them back (about 140 ms against 5 ms for
`automation.lark`), so the parser built the first time is saved, and the next start loads it:

    parser = load_parser("automation.lark", __file__, parser="lalr", transformer=..., postlex=...)

The saved file is named after a digest of everything the tables are built from: the text of every
`.lark` file beside the grammar (so an edited grammar, or one it imports, is a new file and is built
anew, with no step for whoever edits it), the options (a function among them by its name and code), the postlexer's terminals, and the versions of
lark and Python. A cache file is never stale: a different grammar has a different name. It is written
atomically (a temporary file, then renamed), so a parallel start reads the old file or the new, never
half of one; a file that can't be read is built again. The folder is the user's cache folder
(`$XDG_CACHE_HOME/book-grammar` on Linux; `BOOK_GRAMMAR_CACHE` overrides it), else the temporary
folder; where neither can be written, the parser is built in memory at every start, as before.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from lark import Lark

_AT_LOAD = ("transformer", "postlex")
"""Options given again when the tables are loaded: they are not part of the tables."""
_PRUNE_AFTER = 7 * 24 * 3600.0
"""Seconds after which another digest's file of the same grammar, unused since, is deleted."""


def cache_folder() -> Path:
    """Where the parsers are kept: `BOOK_GRAMMAR_CACHE`, else the user's cache folder."""
    given = os.environ.get("BOOK_GRAMMAR_CACHE")
    if given:
        return Path(given)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("book-grammar", appauthor=False))


def digest(path: Path, options: dict[str, Any]) -> str:
    """What the tables of `path` are built from, as a short hex digest (see the module's doc)."""
    from lark import __version__ as lark_version

    h = hashlib.sha256()
    for grammar in sorted(path.parent.glob("*.lark")):  # the grammar and any it may %import
        h.update(grammar.name.encode() + b"\0" + grammar.read_bytes() + b"\0")
    postlex = options.get("postlex")
    if postlex is not None:
        h.update(f"{type(postlex).__qualname__}:{sorted(getattr(postlex, 'always_accept', ()))}".encode())
    kept = {k: _stable(v) for k, v in options.items() if k not in _AT_LOAD}
    h.update(repr(sorted(kept.items())).encode())
    h.update(f"lark {lark_version} python {sys.version_info[:2]}".encode())
    return h.hexdigest()[:24]


def _stable(option: Any) -> Any:
    """An option as the digest sees it: a function (`edit_terminals`) by its name and its code."""
    code = getattr(option, "__code__", None)
    if code is None:
        return option
    return (option.__module__, option.__qualname__, code.co_code, code.co_consts, code.co_names)


def load_parser(filename: str, rel_to: str, **options: Any) -> Lark:
    """The LALR parser of `filename` (beside `rel_to`) with `options`: from the cache, else built and saved."""
    path = Path(rel_to).parent / filename
    name = f"{path.stem}-{digest(path, options)}.lark-tables"
    at_load = {k: v for k, v in options.items() if k in _AT_LOAD}
    folders = [cache_folder(), Path(tempfile.gettempdir()) / "book-grammar"]
    for folder in folders:
        cached = folder / name
        try:
            with cached.open("rb") as f:
                parser = Lark.__new__(Lark)._load(f, **at_load)  # what Lark(cache=...) does
        except FileNotFoundError:
            continue
        except Exception:  # damaged (a disk error, a lark that pickles otherwise): built again below
            continue
        _touch(cached)
        return parser
    with path.open(encoding="utf-8") as grammar:  # as Lark.open: its path for relative %imports
        parser = Lark(grammar, **options)
    for folder in folders:
        if _save(parser, folder, name, path.stem):
            break
    return parser


def _save(parser: Lark, folder: Path, name: str, stem: str) -> bool:
    """Write the tables to `folder/name` atomically; whether they were written."""
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        with tempfile.NamedTemporaryFile("wb", dir=folder, prefix=f".{name}.", delete=False) as f:
            try:
                parser.save(f, exclude_options=_AT_LOAD)
            except BaseException:
                os.unlink(f.name)
                raise
        os.replace(f.name, folder / name)
    except OSError:
        return False
    _prune(folder, name, stem)
    return True


def _prune(folder: Path, keep: str, stem: str) -> None:
    """Delete the files of other versions of this grammar that no start has used for a week."""
    now = time.time()
    for other in folder.glob(f"{stem}-*.lark-tables"):
        try:
            if other.name != keep and now - other.stat().st_mtime > _PRUNE_AFTER:
                other.unlink()
        except OSError:
            pass


def _touch(path: Path) -> None:
    try:
        os.utime(path)
    except OSError:
        pass
