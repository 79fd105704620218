"""The downloads folder's rule (book.files): every file a procedure writes lies under it, with no way out."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from book.errors import InputError
from book.files import DownloadFolder


@pytest.fixture
def folder(tmp_path: Path) -> DownloadFolder:
    return DownloadFolder(tmp_path / "downloads")


def test_a_relative_path_is_taken_inside_the_folder_which_is_made_on_first_use(folder: DownloadFolder) -> None:
    assert not folder.root.exists()
    assert folder.path("call.wav") == folder.root / "call.wav"
    assert folder.root.is_dir() and (folder.root.stat().st_mode & 0o777) == 0o700
    (folder.root / "calls").mkdir()
    assert folder.path("calls/a.wav") == folder.root / "calls" / "a.wav"
    assert folder.path(".") == folder.root


def test_an_absolute_path_inside_the_folder_is_taken(folder: DownloadFolder) -> None:
    assert folder.path(str(folder.root / "x.png")) == folder.root / "x.png"


@pytest.mark.parametrize(("path", "problem"), [
    ("../x.png", "goes up a folder"),
    ("calls/../../x.png", "goes up a folder"),
    ("/etc/passwd", "outside the downloads folder"),
    ("~/.bashrc", "outside the downloads folder"),
    ("", "the path is empty"),
    ("   ", "the path is empty"),
    ("a\x00b", "NUL"),
])
def test_a_path_out_of_the_folder_is_refused(folder: DownloadFolder, path: str, problem: str) -> None:
    with pytest.raises(InputError, match=problem) as caught:
        folder.path(path)
    assert "nothing was downloaded" in str(caught.value)


def test_a_sibling_folder_with_the_same_prefix_is_outside(folder: DownloadFolder, tmp_path: Path) -> None:
    (tmp_path / "downloads-evil").mkdir()
    with pytest.raises(InputError, match="outside the downloads folder"):
        folder.path(str(tmp_path / "downloads-evil" / "x"))


def test_symbolic_links_out_of_the_folder_or_as_the_file_are_refused(folder: DownloadFolder, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious").write_text("mine")
    folder.root.mkdir()
    os.symlink(outside, folder.root / "out")
    os.symlink(outside / "precious", folder.root / "link.png")
    for path in ("out/x.png", "out", "link.png", str(folder.root / "out" / "precious")):
        with pytest.raises(InputError, match="symbolic link"):
            folder.path(path)
    assert (outside / "precious").read_text() == "mine" and os.listdir(outside) == ["precious"]


def test_a_folder_given_through_a_symbolic_link_is_followed_once(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    os.symlink(tmp_path / "real", tmp_path / "alias")
    folder = DownloadFolder(tmp_path / "alias")
    assert folder.path("a.wav") == tmp_path / "real" / "a.wav"
    assert folder.path(str(tmp_path / "alias" / "a.wav")) == tmp_path / "real" / "a.wav"
