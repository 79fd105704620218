"""Render results for people (a table) and programs (JSON, JSON lines). Concepts keep their field names."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any

from pydantic import BaseModel, SecretStr


def jsonable(value: Any) -> Any:
    """A value as JSON-ready data: concepts by their field names, datetimes as ISO 8601."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, SecretStr):
        return str(value)  # '**********'
    return value


def write_json(value: Any, out: IO[str]) -> None:
    json.dump(jsonable(value), out, indent=2, ensure_ascii=False)
    out.write("\n")


def write_jsonl(value: Any, out: IO[str]) -> None:
    streaming = hasattr(value, "__next__")
    items: Iterable[Any] = value if isinstance(value, (list, tuple)) or streaming else [value]
    for item in items:
        out.write(json.dumps(jsonable(item), ensure_ascii=False) + "\n")


def _cell(value: Any, width: int = 40) -> str:
    text = "" if value is None else str(value)
    text = text.replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def write_table(value: Any, out: IO[str]) -> None:
    """A list of concepts as an aligned table (columns that hold something); anything else as text."""
    if value is None:
        return
    if isinstance(value, BaseModel):
        data = jsonable(value)
        width = max((len(k) for k in data), default=0)
        for key, item in data.items():
            out.write(f"{key.replace('_', ' '):<{width}}  {_cell(item, 80)}\n")
        return
    if not isinstance(value, (list, tuple)):
        out.write(f"{jsonable(value)}\n")
        return
    rows = [jsonable(v) for v in value]
    if not rows:
        out.write("(nothing)\n")
        return
    if not all(isinstance(r, dict) for r in rows):
        for r in rows:
            out.write(f"{_cell(r, 120)}\n")
        return
    columns = [c for c in rows[0] if any(r.get(c) not in (None, "") for r in rows)]
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c.replace("_", " ")), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    out.write("  ".join(c.replace("_", " ").ljust(w) for c, w in zip(columns, widths, strict=False)).rstrip() + "\n")
    for row in cells:
        out.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)).rstrip() + "\n")
    out.write(f"({len(rows)} {'row' if len(rows) == 1 else 'rows'})\n")
