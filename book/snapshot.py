"""A snapshot of a book's registry, so that `check` imports none of pydantic, the concepts or the procedures.

Compiling an automation asks the registry what its procedures are (their phrases, inputs and types, outputs,
prepositions, synonyms, pushdowns, conversations), what its concepts are (their names, fields and field types) and
what can be watched; running a procedure needs its module, its concepts and pydantic, a check needs none of them.
So the first `check` that finds no snapshot writes one from the live registry, and the next loads it instead of the
book:

    registry = load_registry(app)        # the snapshot when it is current, else the live registry (and a snapshot)

A snapshot is the registry in `marshal`'s format (plain data, and the code of each text check), read back into the
same records (`book.registry.Procedure`, `Watchable`, `Conversing`) with stand-ins for what they hold of pydantic:
each concept class is a `book.kinds.ConceptShape` with its name and fields; an annotation is rebuilt as the same
`typing` form with pydantic's validators as `AfterCheck` and `BeforeCheck` and `SecretStr` as `SecretText`. A check
(an `AfterValidator`'s or a `BeforeValidator`'s function) is kept by value: its code with the globals and cells it
uses (texts, numbers, regular expressions, other such functions; the standard library's modules, functions and
classes by name); one that can't be is opaque, and the value is checked by pydantic with the live annotation (`book.values.stands_for`: loading the book then, as without a snapshot). So a
check gives the same problems, with the same lines, columns and hints, from either registry (a test compares them
over every mistake the tests make). A registry that holds anything else a snapshot can't stand in for faithfully
(a class whose kind the compiler looks at, a `Literal` of other values) gets no snapshot: it is used live.

The snapshot is named after a digest of what it is made from: the source of every module of the packages the book
is made of (`App.sources`: its procedures and concepts), of the runtime (`book`) and of the grammar (`grammar`,
whose signature grammar shapes the phrases), and the versions of Python, pydantic and this format; so it is never
stale, and an edited source needs no step (the next start makes a new one). It is kept in the parser's cache folder
(`grammar._loading.cache_folder`, else the temporary folder), written atomically, read only from a folder of this
user's alone; one that is missing, unreadable or of another format is passed over (the live registry is used).
`run` uses the live registry: running a procedure needs it anyway.
"""

from __future__ import annotations

import builtins
import collections.abc
import hashlib
import marshal
import os
import re
import sys
import tempfile
import time
import types
import typing
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from datetime import time as time_of_day
from pathlib import Path
from types import FunctionType, MappingProxyType
from typing import TYPE_CHECKING, Any

from book.dates import Span
from book.errors import BookError
from book.kinds import AfterCheck, BeforeCheck, ConceptShape, FieldShape, SecretText, is_concept
from book.registry import Conversing, InputConcept, OutputConcept, Procedure, Registry
from book.values import stands_for
from book.watching.watchable import Watchable
from grammar.signature import Signature

if TYPE_CHECKING:
    from book.app import App

__all__ = ["Unrepresentable", "decode", "encode", "load_registry", "source_digest"]

FORMAT = 1
"""Bumped when what a snapshot holds, or how, changes."""
_MAGIC = "book-registry-snapshot"
_PRUNE_AFTER = 7 * 24 * 3600.0

_PLAIN_TYPES: dict[str, Any] = {
    t.__name__: t for t in (str, int, float, bool, bytes, complex, object, dict, list, tuple, set, frozenset, date,
                            datetime, time_of_day, timedelta, timezone, Span)
}
_PLAIN_BY_TYPE = {id(t): name for name, t in _PLAIN_TYPES.items()}
_ABC = {name: getattr(collections.abc, name) for name in collections.abc.__all__}
_ABC_BY_TYPE = {id(t): name for name, t in _ABC.items()}
_MARSHALLED = (type(None), bool, int, float, str, bytes)


class Unrepresentable(Exception):
    """The registry holds something a snapshot can't stand in for faithfully: it is used live."""


# -- where and by what key ------------------------------------------------------------------------------------


def _package_folder(name: str) -> Path | None:
    """The folder of package `name`, found without importing it."""
    import importlib.util

    module = sys.modules.get(name)
    paths = getattr(module, "__path__", None) if module is not None else None
    if paths is None:
        spec = importlib.util.find_spec(name)
        paths = spec.submodule_search_locations if spec is not None else None
    return Path(next(iter(paths))) if paths else None


def _version_of(package: str) -> str:
    """An installed package's version, from its `version.py` or `__init__.py`, without importing it."""
    module = sys.modules.get(package)
    if module is not None and getattr(module, "VERSION", None):
        return str(module.VERSION)
    folder = _package_folder(package)
    if folder is None:
        return "none"
    for name in ("version.py", "__init__.py"):
        path = folder / name
        if path.is_file():
            found = re.search(r"""^(?:VERSION|__version__)\s*(?::[^=]*)?=\s*['"]([^'"]+)['"]""",
                              path.read_text(encoding="utf-8"), re.M)
            if found:
                return found.group(1)
    return f"at {folder}"


def source_digest(packages: tuple[str, ...]) -> str:
    """What a snapshot of the book made of `packages` is made from, as a short hex digest: every module of those
    packages, of `book` and of `grammar` (with its grammars), and the versions of Python, pydantic and the format."""
    h = hashlib.sha256()
    for package in ("book", "grammar", *packages):
        folder = _package_folder(package)
        if folder is None:
            raise Unrepresentable(f"the package {package!r} is not found")
        h.update(f"package {package}\0".encode())
        for path in sorted(_sources(folder)):
            h.update(os.path.relpath(path, folder).encode() + b"\0")
            with open(path, "rb") as f:
                h.update(f.read())
            h.update(b"\0")
    h.update(f"python {sys.version_info[:3]} pydantic {_version_of('pydantic')} format {FORMAT}".encode())
    return h.hexdigest()[:24]


def _sources(folder: Path) -> list[str]:
    found = []
    for top, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if d != "__pycache__" and not d.startswith(".")]
        found += [os.path.join(top, f) for f in files if f.endswith((".py", ".lark"))]
    return found


def _places() -> list[Path]:
    from grammar._loading import cache_folder

    return [cache_folder(), Path(tempfile.gettempdir()) / "book-grammar"]


def _file_name(program: str, key: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in program)
    return f"registry-{safe}-{key}.snapshot"


def _trusted(folder: Path) -> bool:
    """A snapshot is read only from a folder of this user's that no one else can write (its code is run)."""
    if not hasattr(os, "getuid"):
        return True
    found = folder.stat()
    return found.st_uid == os.getuid() and not found.st_mode & 0o022


# -- loading ------------------------------------------------------------------------------------------------


def load_registry(app: App) -> Registry:
    """The registry of `app`'s book for compiling: its snapshot when a current one is kept, else the live registry
    (`app.load_book()`), then written as a snapshot for the next start. Any trouble with a snapshot (missing,
    unreadable, of another format, not writable) is silent: the live registry is used."""
    if not app.sources:
        return app.load_book().registry
    try:
        key = source_digest(app.sources)
    except Exception:
        return app.load_book().registry
    name = _file_name(app.program, key)
    for place in _places():
        found = _read(place / name, key, app)
        if found is not None:
            return found
    registry = app.load_book().registry
    try:
        data = marshal.dumps((_MAGIC, FORMAT, key, encode(registry)))
    except Exception:  # Unrepresentable, or a bug in encoding: the live registry does
        return registry
    for place in _places():
        if _save(data, place, name):
            break
    return registry


def _read(path: Path, key: str, app: App) -> Registry | None:
    try:
        if not path.is_file() or not _trusted(path.parent):
            return None
        with open(path, "rb") as f:
            magic, version, found, payload = marshal.loads(f.read())
        if magic != _MAGIC or version != FORMAT or found != key:
            return None
        registry = decode(payload, lambda: app.load_book().registry)
    except Exception:
        return None
    try:
        os.utime(path)  # used: `_prune` keeps it
    except OSError:
        pass
    return registry


def _save(data: bytes, folder: Path, name: str) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not _trusted(folder):
            return False
        with tempfile.NamedTemporaryFile("wb", dir=folder, prefix=f".{name}.", suffix=".tmp", delete=False) as f:
            try:
                f.write(data)
            except BaseException:
                os.unlink(f.name)
                raise
        os.replace(f.name, folder / name)
    except OSError:
        return False
    _prune(folder, name)
    return True


def _prune(folder: Path, keep: str) -> None:
    """Delete the snapshots of other sources that no start has used for a week."""
    now = time.time()
    for other in folder.glob("registry-*.snapshot"):
        try:
            if other.name != keep and now - other.stat().st_mtime > _PRUNE_AFTER:
                other.unlink()
        except OSError:
            pass


# -- encoding ------------------------------------------------------------------------------------------------


class _Encoder:
    def __init__(self, sources: tuple[str, ...] = ()) -> None:
        self.concepts: dict[str, Any] = {}
        self.classes: dict[str, Any] = {}
        self.functions: list[Any] = []
        self._function_index: dict[int, int] = {}

    def annotation(self, a: Any) -> Any:
        if a is Any:
            return ("any",)
        if a is type(None):
            return ("none",)
        if a is Ellipsis:
            return ("ellipsis",)
        if isinstance(a, type) and id(a) in _PLAIN_BY_TYPE:
            return ("type", _PLAIN_BY_TYPE[id(a)])
        origin, args = typing.get_origin(a), typing.get_args(a)
        if origin is typing.Annotated:
            return ("annotated", self.annotation(args[0]), tuple(self._metadata(m) for m in a.__metadata__))
        if origin is typing.Union:
            return ("union", "typing", tuple(self.annotation(x) for x in args))
        if origin is types.UnionType:
            return ("union", "|", tuple(self.annotation(x) for x in args))
        if origin is typing.Literal:
            if not all(type(x) in _MARSHALLED for x in args):
                raise Unrepresentable(f"a Literal of other values than texts and numbers: {a!r}")
            return ("literal", tuple(args))
        if origin is not None:
            if isinstance(a, types.GenericAlias) and id(origin) in _PLAIN_BY_TYPE:
                return ("generic", _PLAIN_BY_TYPE[id(origin)], tuple(self.annotation(x) for x in args))
            if id(origin) in _ABC_BY_TYPE and isinstance(a, types.GenericAlias):
                return ("abc", _ABC_BY_TYPE[id(origin)], tuple(self.annotation(x) for x in args))
            if getattr(a, "__module__", "") == "typing" and args:  # typing.List[str], typing.Iterator[X]
                name = getattr(a, "_name", None)
                if name and hasattr(typing, name):
                    return ("typing", name, tuple(self.annotation(x) for x in args))
            raise Unrepresentable(f"the type {a!r}")
        if is_concept(a):
            return ("concept", self._concept(a))
        if isinstance(a, type):
            if a.__name__ == "SecretStr" and a.__module__.startswith("pydantic"):
                return ("secret",)
            if issubclass(a, (int, float, str, bytes, date, timedelta, list, tuple, dict, set, frozenset)):
                raise Unrepresentable(f"the class {a!r}, a kind of value the compiler tells apart")
            key = f"{a.__module__}:{a.__qualname__}"
            self.classes[key] = (a.__name__, a.__module__, a.__qualname__)
            return ("class", key)
        raise Unrepresentable(f"the annotation {a!r}")

    def _metadata(self, m: Any) -> Any:
        kind = type(m).__name__
        if type(m).__module__.startswith("pydantic") and kind in ("AfterValidator", "BeforeValidator"):
            return ("after" if kind == "AfterValidator" else "before", self.function(m.func))
        raise Unrepresentable(f"the annotation's {m!r}")

    def _concept(self, cls: type) -> str:
        key = f"{cls.__module__}:{cls.__qualname__}"
        if key not in self.concepts:
            self.concepts[key] = None  # (a field may hold its own concept)
            fields = tuple((name, self.annotation(field.annotation), field.description)
                           for name, field in cls.model_fields.items())
            self.concepts[key] = (cls.__name__, cls.__module__, cls.__qualname__, cls.concept_name,
                                  tuple(cls.english_fields().items()), fields)
        return key

    # functions, by value where they can be
    def function(self, fn: Any) -> int | None:
        """The index of `fn` in the table of functions kept by value, or None when it can't be kept (opaque)."""
        if id(fn) in self._function_index:
            return self._function_index[id(fn)]
        if not isinstance(fn, FunctionType):
            return None
        index = len(self.functions)
        self._function_index[id(fn)] = index
        self.functions.append(None)
        try:
            code = fn.__code__
            scope = fn.__globals__
            used: dict[str, Any] = {}
            for name in _names(code):
                if name in scope:
                    used[name] = self._value(scope[name])
            cells = tuple(self._value(c.cell_contents) for c in (fn.__closure__ or ()))
            defaults = tuple(self._value(d) for d in (fn.__defaults__ or ()))
            kwdefaults = {k: self._value(v) for k, v in (fn.__kwdefaults__ or {}).items()}
        except Unrepresentable:
            del self._function_index[id(fn)]
            self.functions[index] = ("opaque",)
            return None
        self.functions[index] = ("fn", scope.get("__name__", fn.__module__), fn.__name__, fn.__qualname__, code, used,
                                 cells, defaults, kwdefaults)
        return index

    def _value(self, v: Any) -> Any:
        if type(v) in _MARSHALLED:
            return ("v", v)
        if type(v) in (tuple, list, frozenset):
            return ("seq", type(v).__name__, tuple(self._value(x) for x in v))
        if type(v) is dict:
            return ("dict", tuple((self._value(k), self._value(x)) for k, x in v.items()))
        if isinstance(v, re.Pattern):
            return ("re", v.pattern, v.flags)
        if isinstance(v, types.ModuleType):
            top = v.__name__.partition(".")[0]
            if top not in sys.stdlib_module_names:
                raise Unrepresentable(f"the module {v.__name__}")
            return ("module", v.__name__)
        standard = _standard_name(v)
        if standard is not None:
            return ("standard", *standard)
        if isinstance(v, FunctionType):
            index = self.function(v)
            if index is None:
                raise Unrepresentable(f"the function {v!r}")
            return ("fn", index)
        if isinstance(v, type) and id(v) in _PLAIN_BY_TYPE:
            return ("type", _PLAIN_BY_TYPE[id(v)])
        if isinstance(v, type) and getattr(builtins, v.__name__, None) is v:
            return ("builtin", v.__name__)
        raise Unrepresentable(f"the value {v!r}")


def _standard_name(v: Any) -> tuple[str, str] | None:
    """A function or class of the standard library (`urlsplit`, `Decimal`) by its module and name, when importing
    that module finds it again."""
    module, qualname = getattr(v, "__module__", None), getattr(v, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qualname, str) or "<" in qualname or not callable(v):
        return None
    if module.partition(".")[0] not in sys.stdlib_module_names or module == "__main__":
        return None
    found: Any = sys.modules.get(module)
    for part in qualname.split("."):
        found = getattr(found, part, None)
    return (module, qualname) if found is v else None


def _names(code: types.CodeType) -> set[str]:
    """The global names `code` (and the code it holds: comprehensions, inner functions) may use."""
    found = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            found |= _names(const)
    return found


def encode(registry: Registry) -> Any:
    """The registry as plain data (`marshal`'s); `Unrepresentable` when it holds what a snapshot can't stand in for."""
    e = _Encoder()
    procedures = []
    for p in registry.procedures.values():
        s = p.signature
        procedures.append({
            "signature": (s.phrase, s.verb, s.quantity, s.words, s.proper, s.output, s.determiner),
            "book": p.book,
            "inputs": tuple((i.name, i.param, e.annotation(i.annotation), i.required,
                             i.default if type(i.default) in _MARSHALLED else None, i.description) for i in p.inputs),
            "output": (p.output.name, p.output.description, e.annotation(p.output.type), p.output.plural),
            "flags": (p.filter_capable, p.page_capable, p.takes_client, p.mutating, p.takes_pushed, p.takes_expression,
                      p.writes_files, p.find_sent is not None, p.resume is not None),
            "summary": p.summary, "description": p.description, "location": p.location,
            "pushable": {k: frozenset(v) for k, v in p.pushable.items()},
            "synonyms": tuple(p.synonyms), "prepositions": dict(p.prepositions),
            "converses": _conversing(e, p.converses) if p.converses is not None else None,
            "paced_by": p.paced_by,
        })
    watchables = []
    for w in registry.watchables:
        if type(w) is not Watchable:
            raise Unrepresentable(f"the watchable {w!r}")
        checks = {option: e.function(check) for option, check in w.checks.items()}
        watchables.append((w.name, w.verb, w.noun, w.fact, w.date_field, w.order_field, w.sid_field, dict(w.filters),
                           checks, {o: (getattr(c, "__module__", ""), getattr(c, "__qualname__", ""))
                                    for o, c in w.checks.items()}))
    conversations = tuple(_conversing(e, c) for c in registry.conversations)
    if registry.watch_report is not None:
        report = e.annotation(registry.watch_report)
    else:
        from book.watching.watch import WatchReport

        report = e.annotation(WatchReport)
    return {"program": registry.program, "procedures": tuple(procedures), "watchables": tuple(watchables),
            "conversations": conversations, "watch_report": report, "concepts": e.concepts, "classes": e.classes,
            "functions": tuple(e.functions)}


def _conversing(e: _Encoder, c: Any) -> Any:
    if type(c) is not Conversing:
        raise Unrepresentable(f"the conversation {c!r}")
    return (c.noun, tuple((k, e.annotation(t)) for k, t in c.facts.items()),
            tuple((k, e.annotation(t)) for k, t in c.turn.items()), c.runs_in, c.description)


# -- decoding ------------------------------------------------------------------------------------------------


def _snapshot_only(**kwargs: Any) -> Any:
    raise BookError("this procedure was read from a registry snapshot, which compiles but does not run; "
                    "run it from the book's live registry")


class _Decoder:
    def __init__(self, payload: Any, live: Callable[[], Registry]) -> None:
        self.payload = payload
        self.live = live
        self.functions: list[Any] = [None] * len(payload["functions"])
        self.classes: dict[str, type] = {}
        for key, (name, module, qualname) in payload["classes"].items():
            self.classes[key] = type(name, (), {"__module__": module, "__qualname__": qualname})
        self.concepts: dict[str, type] = {}
        for key, (name, module, qualname, concept_name, english, _fields) in payload["concepts"].items():
            self.concepts[key] = type(name, (ConceptShape,), {
                "__module__": module, "__qualname__": qualname, "concept_name": concept_name,
                "live": (module, qualname), "_english": dict(english), "model_fields": {}})
        for key, (_n, module, qualname, _c, _e, fields) in payload["concepts"].items():
            shapes = self.concepts[key].model_fields
            for name, annotation, description in fields:
                decoded, stands = self.annotation(annotation)
                shapes[name] = FieldShape(decoded, description)
                if stands:
                    stands_for(decoded, _live_field(module, qualname, name))

    def annotation(self, a: Any) -> tuple[Any, bool]:
        """The annotation, and whether it holds stand-ins (pydantic must be given the live one)."""
        kind = a[0]
        if kind == "type":
            return _PLAIN_TYPES[a[1]], False
        if kind == "none":
            return type(None), False
        if kind == "any":
            return Any, False
        if kind == "ellipsis":
            return Ellipsis, False
        if kind == "union":
            parts = [self.annotation(x) for x in a[2]]
            args = tuple(x for x, _ in parts)
            made = typing.Union[args] if a[1] == "typing" else _or(args)  # noqa: UP007  (as the live one was made)
            return made, any(s for _, s in parts)
        if kind == "literal":
            return typing.Literal[a[1]], False
        if kind == "annotated":
            base, stands = self.annotation(a[1])
            return typing.Annotated[(base, *(self._metadata(m) for m in a[2]))], True
        if kind in ("generic", "abc", "typing"):
            parts = [self.annotation(x) for x in a[2]]
            args = tuple(x for x, _ in parts)
            origin = _PLAIN_TYPES[a[1]] if kind == "generic" else _ABC[a[1]] if kind == "abc" else getattr(typing, a[1])
            return origin[args if len(args) != 1 else args[0]], any(s for _, s in parts)
        if kind == "concept":
            return self.concepts[a[1]], True
        if kind == "class":
            return self.classes[a[1]], True
        if kind == "secret":
            return SecretText, True
        raise ValueError(f"unknown annotation {kind!r}")

    def _metadata(self, m: Any) -> Any:
        fn = self.function(m[1]) if m[1] is not None else None
        if fn is None:
            return _Opaque()
        return AfterCheck(fn) if m[0] == "after" else BeforeCheck(fn)

    def function(self, index: int) -> Any:
        if self.functions[index] is not None:
            return self.functions[index]
        entry = self.payload["functions"][index]
        if entry[0] != "fn":
            return None
        _, module, name, qualname, code, used, cells, defaults, kwdefaults = entry
        scope: dict[str, Any] = {"__name__": module, "__builtins__": builtins}
        closure = tuple(types.CellType() for _ in cells)
        fn = FunctionType(code, scope, name, None, closure or None)
        self.functions[index] = fn  # before its globals: a function may use itself
        fn.__qualname__ = qualname
        for cell, value in zip(closure, cells, strict=True):
            cell.cell_contents = self._value(value)
        scope.update({k: self._value(v) for k, v in used.items()})
        fn.__defaults__ = tuple(self._value(d) for d in defaults) or None
        fn.__kwdefaults__ = {k: self._value(v) for k, v in kwdefaults.items()} or None
        return fn

    def _value(self, v: Any) -> Any:
        kind = v[0]
        if kind == "v":
            return v[1]
        if kind == "seq":
            items = [self._value(x) for x in v[2]]
            return {"tuple": tuple, "list": list, "frozenset": frozenset}[v[1]](items)
        if kind == "dict":
            return {self._value(k): self._value(x) for k, x in v[1]}
        if kind == "re":
            return re.compile(v[1], v[2])
        if kind == "module":
            import importlib

            return importlib.import_module(v[1])
        if kind == "standard":
            import importlib

            found: Any = importlib.import_module(v[1])
            for part in v[2].split("."):
                found = getattr(found, part)
            return found
        if kind == "fn":
            made = self.function(v[1])
            if made is None:
                raise ValueError("a function kept by value uses one that could not be")
            return made
        if kind == "type":
            return _PLAIN_TYPES[v[1]]
        if kind == "builtin":
            return getattr(builtins, v[1])
        raise ValueError(f"unknown value {kind!r}")

    def conversing(self, c: Any) -> Conversing:
        noun, facts, turn, runs_in, description = c
        return Conversing(noun, MappingProxyType({k: self.annotation(t)[0] for k, t in facts}),
                          MappingProxyType({k: self.annotation(t)[0] for k, t in turn}), runs_in, description)


class _Opaque:
    """A validator of the live annotation that a snapshot could not keep: pydantic is given the live annotation."""


def _or(args: tuple[Any, ...]) -> Any:
    made = args[0]
    for arg in args[1:]:
        made = made | arg
    return made


def _live_field(module: str, qualname: str, name: str) -> Callable[[], Any]:
    def live() -> Any:
        import importlib

        found: Any = importlib.import_module(module)
        for part in qualname.split("."):
            found = getattr(found, part)
        return found.model_fields[name].annotation

    return live


def _live_input(registry: Callable[[], Registry], key: tuple[str, str], param: str) -> Callable[[], Any]:
    def live() -> Any:
        procedure = registry().procedures[key]
        found = procedure.input(param)
        assert found is not None
        return found.annotation

    return live


def _lazy_check(module: str, qualname: str) -> Callable[..., Any]:
    def check(*args: Any, **kwargs: Any) -> Any:
        import importlib

        found: Any = importlib.import_module(module)
        for part in qualname.split("."):
            found = getattr(found, part)
        return found(*args, **kwargs)

    return check


def decode(payload: Any, live: Callable[[], Registry]) -> Registry:
    """The registry `encode` gave `payload` of; `live()` gives the live registry, for what pydantic must be given."""
    d = _Decoder(payload, live)
    registry = Registry(program=payload["program"])
    for entry in payload["procedures"]:
        signature = Signature(*entry["signature"])
        (filter_capable, page_capable, takes_client, mutating, takes_pushed, takes_expression, writes_files,
         finds, resumes) = entry["flags"]
        key = (signature.verb, _noun_key(signature.noun))
        inputs = []
        for name, param, annotation, required, default, description in entry["inputs"]:
            decoded, stands = d.annotation(annotation)
            if stands:
                stands_for(decoded, _live_input(live, key, param))
            inputs.append(InputConcept(name, param, decoded, required, default, description))
        out_name, out_description, out_type, plural = entry["output"]
        procedure = Procedure(
            signature=signature, function=_snapshot_only, book=entry["book"], inputs=tuple(inputs),
            output=OutputConcept(out_name, out_description, d.annotation(out_type)[0], plural),
            filter_capable=filter_capable, page_capable=page_capable, takes_client=takes_client, mutating=mutating,
            summary=entry["summary"], description=entry["description"], examples=(), location=entry["location"],
            pushable=MappingProxyType(entry["pushable"]), takes_pushed=takes_pushed, takes_expression=takes_expression,
            find_sent=_snapshot_only if finds else None, writes_files=writes_files, synonyms=entry["synonyms"],
            prepositions=MappingProxyType(entry["prepositions"]),
            converses=d.conversing(entry["converses"]) if entry["converses"] is not None else None,
            paced_by=entry["paced_by"], resume=_snapshot_only if resumes else None)
        registry.procedures[procedure.key] = procedure
    for name, verb, noun, fact, date_field, order_field, sid_field, filters, checks, refs in payload["watchables"]:
        made = {o: (d.function(i) if i is not None else None) or _lazy_check(*refs[o]) for o, i in checks.items()}
        registry.watchables.append(Watchable(name, verb, noun, fact, date_field, order_field, sid_field, filters, made))
    registry.conversations.extend(d.conversing(c) for c in payload["conversations"])
    registry.watch_report = d.annotation(payload["watch_report"])[0]
    return registry


def _noun_key(noun: str) -> str:
    from book.naming import noun_key

    return noun_key(noun)
