"""How English names become lookup keys and Python names: `the sender number` -> `sender_number`."""

from __future__ import annotations

import difflib
import re

_ARTICLES = {"the", "a", "an", "some"}
_UNCOUNTABLE = {"media", "data", "information", "sms", "status", "series", "news"}


def normal(text: str) -> str:
    """Lower case, single spaces, no leading article: `The  Sender Number` -> `sender number`."""
    words = text.replace("\u2019", "'").lower().split()
    start = 0
    while start < len(words) and words[start] in _ARTICLES:  # an index, not a slice per article
        start += 1
    return " ".join(words[start:])


def singular(word: str) -> str:
    """`messages` -> `message`, `entries` -> `entry`, `addresses` -> `address`; leaves `media`, `sms` alone."""
    w = word.lower()
    if w in _UNCOUNTABLE or len(w) < 3:
        return w
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith(("sses", "shes", "ches", "xes", "zzes")):
        return w[:-2]
    if w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return w


def noun_key(text: str) -> str:
    """The registry key of a noun phrase: normal form, last word singular (`SMS messages` -> `sms message`)."""
    words = normal(text).split()
    if not words:
        return ""
    return " ".join([*words[:-1], singular(words[-1])])


def param_name(text: str) -> str:
    """The Python parameter an English input name binds to: `the message's body` -> `message_body`."""
    text = re.sub(r"['\u2019]s\b", "", normal(text))
    return re.sub(r"[\s\-]+", "_", text.strip())


def english(name: str) -> str:
    """The English name of a Python field or parameter: `sender_number` -> `sender number`."""
    return name.strip("_").replace("_", " ")


def did_you_mean(word: str, candidates: list[str] | tuple[str, ...] | set[str], n: int = 3) -> str | None:
    """A `did you mean ...?` hint with the nearest candidates, or None."""
    close = difflib.get_close_matches(word, list(candidates), n=n, cutoff=0.6)
    if not close:
        return None
    return "did you mean " + " or ".join(repr(c) for c in close) + "?"
