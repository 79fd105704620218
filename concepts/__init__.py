"""The book's concepts: pydantic models of the things procedures read and return."""

from __future__ import annotations

from concepts.base import Concept, type_words

__all__ = ["Concept", "type_words"]
