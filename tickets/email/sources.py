"""Read raw messages for an import: an mbox file, one .eml file, or a folder of .eml files."""

from __future__ import annotations

import mailbox
from collections.abc import Iterator
from pathlib import Path


class SourceError(ValueError):
    pass


def _looks_like_mbox(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(5) == b"From "


def iter_messages(path: str | Path) -> Iterator[tuple[str, bytes]]:
    """(label, raw bytes) of every message under ``path``, in a stable order."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() == ".eml")
        if not files:
            raise SourceError(f"No .eml files in {path}.")
        for file in files:
            yield str(file), file.read_bytes()
        return
    if not path.is_file():
        raise SourceError(f"{path} does not exist.")
    if path.suffix.lower() == ".eml" or not _looks_like_mbox(path):
        yield str(path), path.read_bytes()
        return
    box = mailbox.mbox(str(path), create=False)
    try:
        for index, key in enumerate(box.iterkeys(), start=1):
            yield f"{path}#{index}", box.get_bytes(key, from_=False)
    finally:
        box.close()
