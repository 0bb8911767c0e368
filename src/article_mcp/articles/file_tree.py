"""Where an import finds markdown files and an export puts them: never outside the
directories the operator named.

An import walks the paths it is given (folders recursively, in name order, leaving out hidden
files and folders). It follows no symbolic link: a link pointing inside the given paths is
left out, since its target is imported where it lies; one pointing outside them is refused,
so a link cannot bring in a file the operator did not name. An export writes each article to
`DIR/<folder>/<slug>.md`, with folder and slug checked against the article rules and the
file's directory checked to lie inside DIR once links are resolved.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from article_mcp.articles.rules import check_folder
from article_mcp.articles.slugs import check_slug
from article_mcp.errors import ConflictError, InvalidInputError

MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
EXPORT_SUFFIX = ".md"
# Where `export --with-history` puts each article's past versions, beside its file.
HISTORY_DIR = ".history"


@dataclass(frozen=True, slots=True)
class FoundFile:
    """A file to import: its path as given, and its folder relative to the path it was found
    under ('' for a file named directly or at the top of a folder)."""

    path: Path
    folder: str
    refused: str | None = None  # why it is not read; None: read it


def markdown_files(paths: Sequence[Path]) -> Iterator[FoundFile]:
    """The markdown files under `paths`, and the links refused among them."""
    roots = [path.resolve() for path in paths]
    for given, root in zip(paths, roots, strict=True):
        if given.is_symlink() and not root.exists():
            yield FoundFile(given, "", refused="is a broken symbolic link")
        elif root.is_dir():
            yield from _walk(given, root, roots)
        elif root.is_file():
            yield FoundFile(given, "")
        else:
            yield FoundFile(given, "", refused="does not exist")


def _walk(given: Path, root: Path, roots: Sequence[Path]) -> Iterator[FoundFile]:
    for here, dirs, files in os.walk(root):  # links to folders are listed, not walked
        dirs[:] = sorted(name for name in dirs if not name.startswith("."))
        relative = Path(here).relative_to(root)
        folder = "/".join(relative.parts)
        for name in sorted([*dirs, *(name for name in files if not name.startswith("."))]):
            path = Path(here) / name
            shown = given / relative / name
            if path.is_symlink():
                if not _link_inside(path, roots):
                    yield FoundFile(shown, folder, refused="is a symbolic link to outside the given paths")
            elif name not in dirs and path.suffix.lower() in MARKDOWN_SUFFIXES:
                yield FoundFile(shown, folder)


def _link_inside(link: Path, roots: Sequence[Path]) -> bool:
    try:
        target = link.resolve()
    except (OSError, RuntimeError):  # a loop of links
        return False
    return _inside(target, roots)


def _inside(target: Path, roots: Sequence[Path]) -> bool:
    return any(target.is_relative_to(root) for root in roots)


def prepare_export_dir(directory: Path) -> Path:
    """The export directory, created if missing; it must be empty, so that what it holds
    afterwards is exactly the export."""
    if directory.exists() and not directory.is_dir():
        raise InvalidInputError("DIR", f"{directory} is not a directory")
    directory.mkdir(parents=True, exist_ok=True)
    if any(directory.iterdir()):
        raise ConflictError(f"DIR: {directory} is not empty; export into a new or empty directory")
    return directory.resolve()


def write_export_file(root: Path, folder: str, slug: str, data: bytes) -> Path:
    """Write an article's file under the (resolved) export root; never outside it, never over
    an existing file or through a link."""
    check_folder(folder)
    check_slug(slug)
    return _write_inside(root, _folder_path(root, folder) / (slug + EXPORT_SUFFIX), folder, data)


def write_history_file(root: Path, folder: str, slug: str, version: int, data: bytes) -> Path:
    """Write one past version of an article to `<folder>/.history/<slug>/<version>.md`: a
    hidden folder, which an import skips, so history never comes back as articles."""
    check_folder(folder)
    check_slug(slug)
    path = _folder_path(root, folder) / HISTORY_DIR / slug / f"{version}{EXPORT_SUFFIX}"
    return _write_inside(root, path, folder, data)


def _folder_path(root: Path, folder: str) -> Path:
    return root.joinpath(*folder.split("/")) if folder else root


def _write_inside(root: Path, path: Path, folder: str, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not _inside(path.parent.resolve(), [root]):
        raise InvalidInputError("folder", f"{folder!r} leads outside the export directory")
    with path.open("xb") as file:  # exclusive: fails on any existing file or link
        file.write(data)
    return path
