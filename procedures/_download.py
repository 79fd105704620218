"""Downloading a Twilio file (a recording's audio, a message's media) into the session's downloads folder.

`destination` checks the path before any request: the runtime's `book.files.DownloadFolder` keeps it
inside the downloads folder (no `..`, no other absolute path, no symbolic link), and the file must not
exist unless the overwrite is true. `download` hands the rest to the book's HTTP client
(`BookHttpClient.download`), which pins the host to Twilio (or sends it to the sandbox), retries like
any read, and writes the file only once it is complete. An existing file is replaced only when the
caller says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

from book.errors import InputError
from book.files import DownloadFolder
from concepts import File

if TYPE_CHECKING:
    from twilio.rest import Client

    from procedures.http import BookHttpClient


def destination(downloads: DownloadFolder, path: str, default_name: str, *, overwrite: bool) -> Path:
    """The file to write for `path` inside `downloads` (a folder gets `default_name` inside it); InputError if
    it is out of the folder or unusable, before any request."""
    target = downloads.path(path)
    if target.is_dir():
        target = downloads.path(str(target / default_name))
    if not target.parent.is_dir():
        raise InputError(f"the folder {target.parent} does not exist; create it or choose another path; "
                         "nothing was downloaded")
    if target.is_dir():
        raise InputError(f"{target} is a folder; give a file name; nothing was downloaded")
    if target.exists() and not overwrite:
        raise InputError(f"{target} already exists; choose another path, or add 'the overwrite is true' to replace it; "
                         "nothing was downloaded")
    return target


def download(client: Client, uri: str, target: Path, *, overwrite: bool, what: str) -> File:
    """GET `uri` (relative to api.twilio.com) into `target`; `what` ("the recording RE...") names it in errors."""
    http = cast("BookHttpClient", client.http_client)  # every client the book makes has one
    url = client.get_hostname(client.api.absolute_url(uri))
    try:
        result = http.download(url, target, auth=(client.username, client.password), overwrite=overwrite, what=what)
    except FileExistsError:
        raise InputError(f"{target} appeared while downloading; it was left as it is. Choose another path, or "
                         "add 'the overwrite is true' to replace it") from None
    return File(path=str(result.path), size=result.size, content_type=result.content_type)
