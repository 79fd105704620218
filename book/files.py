"""Where a book's procedures may write files: one downloads folder, and the rule that keeps them in it.

Whoever names the file to write (a person's automation, an agent over MCP), the file goes under the
session's downloads folder (`Session.downloads`; by default `<home>/downloads`, `--downloads DIR` to
choose). A procedure that writes a file declares a `downloads` parameter and gets the folder:

    @book.procedure("to download an *Acme* report")
    def download_report(client, downloads: DownloadFolder, report_id: str, path: str) -> File:
        target = downloads.path(path)          # InputError for a path out of the folder: nothing sent

A relative path is taken inside the folder; an absolute one must lie inside it. A path with `..`, one
outside the folder, and one that leads out of it through a symbolic link are refused before anything
is sent, and so is writing through a symbolic link. Such a procedure is not served by a read-only MCP
server (`Procedure.writes_files`). The standard library only.
"""

from __future__ import annotations

import os
from pathlib import Path

from book.errors import InputError

__all__ = ["DownloadFolder"]

_NOTHING = "nothing was downloaded"


class DownloadFolder:
    """The folder a session's downloads go under (created, mode 0700, when a download first needs it)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).expanduser().absolute()

    def __repr__(self) -> str:
        return f"DownloadFolder({str(self.root)!r})"

    def __str__(self) -> str:
        return str(self.root)

    def path(self, name: str) -> Path:
        """The file (or folder) `name` names inside the downloads folder, with no symbolic link in it.

        Raises InputError, before anything is sent, for an empty name, one with `..` or a NUL, one outside
        the folder, and one that reaches a symbolic link (in its folders or as the file itself).
        """
        text = str(name)
        if not text.strip():
            raise InputError(f'the path is empty; give the file to write, like "recording.wav"; {_NOTHING}')
        if "\x00" in text:
            raise InputError(f"the path {text!r} holds a NUL character, which no file name can; {_NOTHING}")
        given = Path(text).expanduser()
        if ".." in given.parts:
            raise InputError(f"the path {text!r} goes up a folder ('..'); downloads go only under the downloads "
                             f"folder {self.root}: give a name inside it, like \"recording.wav\"; {_NOTHING}")
        root = self._made()
        target = given if given.is_absolute() else root / given
        if not _inside(Path(os.path.normpath(target)), root) and not _inside(Path(os.path.normpath(target)), self.root):
            raise InputError(f"the path {text!r} is outside the downloads folder {root}; give a name inside it "
                             f"(a relative path is taken inside it), or choose the folder with --downloads; {_NOTHING}")
        real = Path(os.path.realpath(target))
        if not _inside(real, root) or real != Path(os.path.normpath(root / _below(target, root, self.root))):
            raise InputError(f"the path {text!r} goes through a symbolic link; downloads are written only to "
                             f"plain folders under the downloads folder {root}; {_NOTHING}")
        return real

    def _made(self) -> Path:
        try:
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as err:
            raise InputError(f"the downloads folder {self.root} can't be created ({err.strerror}); choose another "
                             f"with --downloads; {_NOTHING}") from None
        return Path(os.path.realpath(self.root))


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or path.is_relative_to(folder)


def _below(target: Path, *roots: Path) -> Path:
    """`target` relative to whichever of `roots` (the folder, as resolved and as given) it is under."""
    normal = Path(os.path.normpath(target))
    for root in roots:
        if _inside(normal, root):
            return normal.relative_to(root)
    return normal
