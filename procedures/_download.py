"""Downloading a Twilio file (a recording's audio, a message's media) to a path on this computer.

`destination` checks the path before any request; `download` streams the response into a temporary
file beside the target and moves it into place only when it is complete, so a failed download never
leaves half a file, and an existing file is replaced only when the caller says so.

The SDK's HTTP client returns bodies as text, so binary media is fetched with the book's client's
own session: its `target_url` still pins the host to Twilio (or sends it to the sandbox) and the
credentials go with the first request only; a redirect to another host (Twilio's media storage)
is followed without them.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

from book.errors import InputError, RemoteError
from concepts import File

if TYPE_CHECKING:
    from twilio.rest import Client

CHUNK = 64 * 1024


def destination(path: str, default_name: str, *, overwrite: bool) -> Path:
    """The absolute file to write for `path` (a folder gets `default_name` inside it); InputError if unusable."""
    target = Path(path).expanduser()
    if not str(path).strip():
        raise InputError("the path is empty; give the file to write, like \"recording.wav\"; nothing was downloaded")
    target = target if target.is_absolute() else Path.cwd() / target
    if target.is_dir():
        target = target / default_name
    if not target.parent.is_dir():
        raise InputError(f"the folder {target.parent} does not exist; create it or choose another path; "
                         "nothing was downloaded")
    if target.is_dir():
        raise InputError(f"{target} is a folder; give a file name; nothing was downloaded")
    if target.exists() and not overwrite:
        raise InputError(f"{target} already exists; choose another path, or add 'the overwrite is true' to replace it; "
                         "nothing was downloaded")
    return target


def download(client: Client, uri: str, target: Path, *, overwrite: bool, doing: str) -> File:
    """GET `uri` (relative to api.twilio.com) into `target`; returns the file's path, size and content type."""
    http: Any = client.http_client
    url = http.target_url(client.get_hostname(client.api.absolute_url(uri)))  # refuses any host but Twilio's
    session = http.session or requests.Session()
    http.request_count += 1
    try:
        response = session.get(url, auth=(client.username, client.password), stream=True, timeout=http.timeout)
    except requests.RequestException as err:
        raise RemoteError(f"Could not {doing}: {type(err).__name__}. Check your network connection (for the "
                          "sandbox: that it is running) and try again; nothing was written.") from None
    with response:
        if response.status_code >= 400:
            raise _refused(response, doing)
        content_type = response.headers.get("Content-Type", "application/octet-stream").split(";")[0].strip()
        descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
        try:
            size = 0
            with os.fdopen(descriptor, "wb") as out:
                for chunk in response.iter_content(CHUNK):
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            _place(Path(temporary), target, overwrite)
        except requests.RequestException as err:
            raise RemoteError(f"Could not {doing}: the connection broke during the download ({type(err).__name__}); "
                              "nothing was written. Try again.") from None
        finally:
            with suppress(FileNotFoundError):
                os.unlink(temporary)
    return File(path=str(target), size=size, content_type=content_type)


def _place(temporary: Path, target: Path, overwrite: bool) -> None:
    """Move the finished file into place; without `overwrite`, never over a file that appeared meanwhile."""
    if overwrite:
        os.replace(temporary, target)
        return
    try:
        os.link(temporary, target)  # atomic, and fails if the target exists
    except FileExistsError:
        raise InputError(f"{target} appeared while downloading; it was left as it is. Choose another path, or "
                         "add 'the overwrite is true' to replace it") from None
    except OSError:  # a file system without hard links
        if target.exists():
            raise InputError(f"{target} appeared while downloading; it was left as it is") from None
        os.replace(temporary, target)


def _refused(response: requests.Response, doing: str) -> RemoteError:
    code = more_info = None
    message = f"HTTP {response.status_code}"
    with suppress(ValueError):
        body = response.json()
        if isinstance(body, dict):
            code, more_info = body.get("code"), body.get("more_info")
            message = str(body.get("message") or message)
    return RemoteError(f"Twilio refused to {doing}: {message}", status=response.status_code,
                       code=code if isinstance(code, int) else None,
                       more_info=more_info if isinstance(more_info, str) else None)
