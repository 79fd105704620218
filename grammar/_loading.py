"""Lark's runtime and the book's parser tables as one generated module, so a start imports no `lark`.

Building the tables of a grammar costs far more than reading them back (about 140 ms against 5 ms for
`automation.lark`), and importing the `lark` package with its grammar compiler costs about 20 ms more. So,
as lark's own `lark.tools.standalone` does, the tables of every grammar in `GRAMMARS` are written once
into a Python module beside the part of lark that runs them (the lexer, the LALR parser, `Transformer`,
`Token`, `Indenter`, the exceptions), and the next start imports that module (and its bytecode):

    runtime = load_runtime()                     # the generated module
    parser = runtime.load("automation", transformer=..., postlex=...)
    runtime.Token, runtime.Transformer, runtime.UnexpectedToken, ...

The module is named after a digest of everything it is generated from: the text of every `.lark` file of
the folder (so an edited grammar, or one it imports, is a new module, generated with no step for whoever
edits it), the options of each grammar (a function among them by the source of its module), and the
versions of lark, Python and this generator. It is never stale: a different grammar has a different name. It is written atomically (a temporary file, then
renamed), so a parallel start reads the old file or the new, never half of one; a file that can't be
imported is generated again; a folder someone else owns or can write to is not used. Its bytecode is
written beside it even where Python writes none, and the source is never touched after, so the bytecode
stays current. The folder is the user's cache folder (`$XDG_CACHE_HOME/book-grammar` on Linux;
`BOOK_GRAMMAR_CACHE` overrides it), else the temporary folder; where neither can be written, the module is
generated and run in memory at every start.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from grammar._terminals import whole_words

GRAMMAR_FOLDER = Path(__file__).parent
GRAMMARS: dict[str, dict[str, Any]] = {
    "automation": {"lexer": "contextual", "maybe_placeholders": False, "postlex_accepts": ("_NL",),
                   "edit_terminals": whole_words},
    "signature": {"lexer": "contextual"},
}
"""Each grammar's file stem and the options its tables are built with (`postlex_accepts`: the terminals its
postlexer always accepts; the postlexer itself, and a transformer, are given when a parser is loaded; a
function, like `edit_terminals`, is in the digest by its name and the source of its module)."""

_GENERATOR = "2"
"""Bumped when what this module writes changes."""
_PRUNE_AFTER = 7 * 24 * 3600.0
"""Seconds after which another digest's module, unused since, is deleted."""


def cache_folder() -> Path:
    """Where the generated module is kept: `BOOK_GRAMMAR_CACHE`, else the user's cache folder."""
    given = os.environ.get("BOOK_GRAMMAR_CACHE")
    if given:
        return Path(given)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("book-grammar", appauthor=False))


def lark_version() -> str:
    """The installed lark's version, read from its `__init__.py` without importing it (nor `importlib.metadata`)."""
    import re
    from importlib.machinery import PathFinder

    spec = PathFinder.find_spec("lark")
    origin = spec.origin if spec is not None else None
    if origin is None:
        raise ImportError("lark is not installed; it generates the parser tables (pip install lark)")
    found = re.search(r"""__version__\s*(?::[^=]*)?=\s*['"]([^'"]+)['"]""", Path(origin).read_text(encoding="utf-8"))
    return found.group(1) if found else f"at {origin} {os.stat(origin).st_mtime_ns}"


def digest(folder: Path, grammars: dict[str, dict[str, Any]], lark: str) -> str:
    """What the module of `grammars` (beside each other in `folder`) is generated from, as a short hex digest."""
    h = hashlib.sha256()
    for grammar in sorted(folder.glob("*.lark")):  # the grammars and any they may %import
        h.update(grammar.name.encode() + b"\0" + grammar.read_bytes() + b"\0")
    h.update(repr(sorted((name, sorted((k, _stable(v)) for k, v in options.items()))
                         for name, options in grammars.items())).encode())
    h.update(f"lark {lark} python {sys.version_info[:2]} generator {_GENERATOR}".encode())
    return h.hexdigest()[:24]


def _stable(option: Any) -> Any:
    """An option as the digest sees it: a function (`edit_terminals`) by its name and the source of its module
    (the code of what it calls, and its module's constants, decide what it does too)."""
    code = getattr(option, "__code__", None)
    if code is None:
        return option
    source = Path(code.co_filename)
    text = hashlib.sha256(source.read_bytes()).hexdigest() if source.is_file() else repr(code.co_code)
    return (option.__module__, option.__qualname__, text)


_LOADED: dict[str, ModuleType] = {}


def load_runtime(folder: Path = GRAMMAR_FOLDER, grammars: dict[str, dict[str, Any]] | None = None) -> ModuleType:
    """The generated module of `grammars` (the book's by default) in `folder`: imported, else generated first."""
    grammars = GRAMMARS if grammars is None else grammars
    key = digest(folder, grammars, _installed_lark())
    if key in _LOADED:
        return _LOADED[key]
    name = f"lark_runtime_{key}"
    places = [cache_folder(), Path(tempfile.gettempdir()) / "book-grammar"]
    for place in places:
        try:
            module = _import(place / f"{name}.py", name)
        except FileNotFoundError:
            continue
        except Exception:  # damaged (cut short, a disk error): generated again below
            continue
        _touch(place / "__pycache__", name)  # not the source: its bytecode would be out of date
        break
    else:
        source = generate(folder, grammars)
        for place in places:
            if _save(source, place, name):
                try:
                    module = _import(place / f"{name}.py", name)
                    break
                except Exception:
                    pass
        else:  # no folder can be written: run it from memory
            module = ModuleType(name)
            sys.modules[name] = module
            exec(compile(source, f"<{name}>", "exec"), module.__dict__)
    _LOADED[key] = module
    return module


_VERSION: list[str] = []


def _installed_lark() -> str:
    if not _VERSION:
        lark = sys.modules.get("lark")
        _VERSION.append(getattr(lark, "__version__", None) or lark_version())
    return _VERSION[0]


def _import(path: Path, name: str) -> ModuleType:
    from importlib.machinery import SourceFileLoader
    from importlib.util import module_from_spec, spec_from_loader

    if not path.is_file():
        raise FileNotFoundError(path)
    _trusted(path.parent)
    _compiled(path)
    loader = SourceFileLoader(name, str(path))
    module = module_from_spec(spec_from_loader(name, loader))
    sys.modules[name] = module  # its dataclasses look their module up
    try:
        loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    if not hasattr(module, "TABLES"):  # cut short at a statement's end
        del sys.modules[name]
        raise ImportError(f"{path} has no tables")
    return module


def _trusted(folder: Path) -> None:
    """A module is imported only from a folder of this user's that no one else can write (the temporary
    folder is shared: someone else's `book-grammar` there is not run)."""
    if not hasattr(os, "getuid"):
        return
    found = folder.stat()
    if found.st_uid != os.getuid() or found.st_mode & 0o022:
        raise PermissionError(f"{folder} is not this user's alone; its parser module is not imported")


def _compiled(path: Path) -> None:
    """Write the module's bytecode if it has none that is current, even where Python writes none
    (`PYTHONDONTWRITEBYTECODE`): compiling its source at every start would cost more than the tables save."""
    from importlib.util import cache_from_source

    compiled = cache_from_source(str(path))
    try:
        with open(compiled, "rb") as f:
            header = f.read(16)
        source = os.stat(path)
        if header[4:8] == b"\0\0\0\0" and header[8:16] == (
                (int(source.st_mtime) & 0xFFFFFFFF).to_bytes(4, "little") + (source.st_size & 0xFFFFFFFF).to_bytes(4, "little")):
            return  # (the header of bytecode checked by the source's time and size, as importlib checks it)
    except OSError:
        pass
    import py_compile

    try:
        py_compile.compile(str(path), cfile=compiled, doraise=True)
    except (OSError, py_compile.PyCompileError):
        pass  # imported from its source all the same


def generate(folder: Path, grammars: dict[str, dict[str, Any]]) -> str:
    """The module's source: lark's runtime (as `lark.tools.standalone` extracts it), then each grammar's tables."""
    import lark
    from lark.grammar import Rule
    from lark.lexer import TerminalDef
    from lark.tools import standalone

    parts: list[str] = []
    standalone.gen_standalone(_build(folder, *next(iter(grammars.items()))), output=lambda *a: parts.append(
        " ".join(str(x) for x in a) + "\n"))
    code = "".join(parts)
    code = code[: code.index("import pickle, zlib, base64\nDATA = (")]  # the runtime, without its one grammar's tables
    out = [f'"""Generated by grammar._loading from {", ".join(grammars)} (lark {lark.__version__}); not edited."""\n',
           code, "TABLES = {}\n"]
    for name, options in grammars.items():
        data, memo = _build(folder, name, options).memo_serialize([TerminalDef, Rule])
        for key, value in data["options"].items():  # the postlexer (given when a parser is loaded), a function
            if key == "postlex" or callable(value):     # (`edit_terminals`: applied already) are not data
                data["options"][key] = None
        out.append(f"TABLES[{name!r}] = ({data!r}, {memo!r})\n")
    out.append("Shift = 0\nReduce = 1\n\n\n"
               "def load(name, **kwargs):\n"
               "    data, memo = TABLES[name]\n"
               "    return Lark._load_from_dict(data, memo, **kwargs)\n")
    return "".join(out)


class _Accepting:
    """A stand-in postlexer at build time: only which terminals it always accepts shapes the tables."""

    def __init__(self, always_accept: tuple[str, ...]) -> None:
        self.always_accept = always_accept

    def process(self, stream: Any) -> Any:
        return stream


def _build(folder: Path, name: str, options: dict[str, Any]) -> Any:
    from lark import Lark

    options = dict(options)
    accepts = options.pop("postlex_accepts", None)
    if accepts is not None:
        options["postlex"] = _Accepting(accepts)
    with (folder / f"{name}.lark").open(encoding="utf-8") as grammar:  # as Lark.open: its path for %imports
        return Lark(grammar, parser="lalr", **options)


def _save(source: str, folder: Path, name: str) -> bool:
    """Write the module to `folder/name.py` atomically; whether it was written."""
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=folder, prefix=f".{name}.", suffix=".tmp",
                                         delete=False) as f:
            try:
                f.write(source)
            except BaseException:
                os.unlink(f.name)
                raise
        os.replace(f.name, folder / f"{name}.py")
        _trusted(folder)
    except OSError:
        return False
    from importlib.util import cache_from_source

    try:  # the bytecode of a damaged file of the same name: written anew when it is imported
        os.unlink(cache_from_source(str(folder / f"{name}.py")))
    except OSError:
        pass
    _prune(folder, name)
    return True


def _prune(folder: Path, keep: str) -> None:
    """Delete the modules (and their bytecode) of other versions that no start has used for a week."""
    now = time.time()
    for other in [*folder.glob("lark_runtime_*.py"), *folder.glob("*.lark-tables")]:
        try:
            compiled = list((folder / "__pycache__").glob(f"{other.stem}.*"))
            if other.stem != keep and all(now - f.stat().st_mtime > _PRUNE_AFTER for f in [other, *compiled]):
                for f in [other, *compiled]:
                    f.unlink()
        except OSError:
            pass


def _touch(folder: Path, name: str) -> None:
    """Mark the module's bytecode used (`_prune` keeps what a start used in the last week)."""
    try:
        for compiled in os.scandir(folder):
            if compiled.name.startswith(name + "."):
                os.utime(compiled.path)
    except OSError:
        pass
