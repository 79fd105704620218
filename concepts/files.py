"""The `file` concept: a file a procedure wrote to disk (a downloaded recording, a media file...)."""

from __future__ import annotations

from book.concept import Concept


class File(Concept):
    """A file on this computer.

    A file a procedure has written, such as a downloaded recording or media file: where it is, how
    big it is, and what kind of content it holds.
    """

    concept_name = "file"

    path: str
    """The absolute path of the file on this computer."""
    size: int
    """The size of the file in bytes."""
    content_type: str
    """The media type of the file's content (e.g. audio/x-wav, audio/mpeg, image/jpeg)."""
