"""Paths of import and export never lead outside the directories named: `..`, absolute
paths and symbolic links are refused or left out."""

from __future__ import annotations

from pathlib import Path

import pytest

from article_mcp.articles.file_tree import markdown_files, prepare_export_dir, write_export_file
from article_mcp.errors import ConflictError, InvalidInputError


def tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def found(paths: list[Path]) -> list[tuple[str, str, str | None]]:
    return [(str(f.path), f.folder, f.refused) for f in markdown_files(paths)]


def test_folders_are_walked_in_order_with_their_relative_folder(tmp_path: Path) -> None:
    tree(tmp_path, {"a.md": "", "b/c.markdown": "", "b/d/e.MD": "", "b/skip.txt": "", "top.md": ""})
    tree(tmp_path, {".git/x.md": "", "b/.hidden.md": "", ".obsidian/y.md": ""})
    assert found([tmp_path / "b", tmp_path / "a.md"]) == [
        (str(tmp_path / "b" / "c.markdown"), "", None),
        (str(tmp_path / "b" / "d" / "e.MD"), "d", None),
        (str(tmp_path / "a.md"), "", None),
    ]


def test_a_missing_path_is_reported(tmp_path: Path) -> None:
    assert found([tmp_path / "nope.md"]) == [(str(tmp_path / "nope.md"), "", "does not exist")]


def test_links_outside_the_given_paths_are_refused_links_inside_left_out(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    tree(outside, {"secret.md": "secret", "dir/more.md": ""})
    notes = tmp_path / "notes"
    tree(notes, {"real.md": "", "sub/inner.md": ""})
    (notes / "to-secret.md").symlink_to(outside / "secret.md")
    (notes / "to-dir").symlink_to(outside / "dir")
    (notes / "again.md").symlink_to(notes / "real.md")
    (notes / "sub-again").symlink_to(notes / "sub")
    (notes / "loop.md").symlink_to(notes / "loop.md")
    refused = "is a symbolic link to outside the given paths"
    assert found([notes]) == [
        (str(notes / "loop.md"), "", refused),
        (str(notes / "real.md"), "", None),
        (str(notes / "to-dir"), "", refused),
        (str(notes / "to-secret.md"), "", refused),
        (str(notes / "sub" / "inner.md"), "sub", None),
    ]
    # A link to a file that is itself among the given paths is left out: it is imported once.
    assert found([notes, outside / "secret.md"]) == [
        (str(notes / "loop.md"), "", refused),
        (str(notes / "real.md"), "", None),
        (str(notes / "to-dir"), "", refused),
        (str(notes / "sub" / "inner.md"), "sub", None),
        (str(outside / "secret.md"), "", None),
    ]


def test_export_writes_under_the_root_only(tmp_path: Path) -> None:
    root = prepare_export_dir(tmp_path / "out")
    path = write_export_file(root, "a/b", "slug", b"data")
    assert path == root / "a" / "b" / "slug.md" and path.read_bytes() == b"data"
    assert write_export_file(root, "", "top", b"x") == root / "top.md"
    for folder in ("../escape", "/etc", "a/../../x", "a//b"):
        with pytest.raises(InvalidInputError) as caught:
            write_export_file(root, folder, "s", b"x")
        assert caught.value.field == "folder"
    with pytest.raises(InvalidInputError):
        write_export_file(root, "", "../x", b"x")
    assert not (tmp_path / "escape").exists() and not (tmp_path / "x.md").exists()


def test_export_never_writes_through_a_link(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = prepare_export_dir(tmp_path / "out")
    (root / "linked").symlink_to(outside)
    with pytest.raises(InvalidInputError, match="outside the export directory"):
        write_export_file(root, "linked", "s", b"x")
    (root / "file.md").symlink_to(outside / "target.md")
    with pytest.raises(FileExistsError):
        write_export_file(root, "", "file", b"x")
    assert list(outside.iterdir()) == []


def test_export_directory_must_be_new_or_empty(tmp_path: Path) -> None:
    assert prepare_export_dir(tmp_path / "new" / "dir").is_dir()
    tree(tmp_path / "full", {"old.md": ""})
    with pytest.raises(ConflictError, match="not empty"):
        prepare_export_dir(tmp_path / "full")
    with pytest.raises(InvalidInputError, match="not a directory"):
        prepare_export_dir(tmp_path / "full" / "old.md")
