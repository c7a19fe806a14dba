"""File names that are not valid UTF-8: kept exactly for the file system, shown with a replacement character.

A disk from another system (an old Windows or a camera's FAT card in Latin-1, a Mac's NFD archive) can hold names
whose bytes are not UTF-8. Python spells them with lone surrogates (PEP 383), which open the file fine but cannot be
written as UTF-8: SQLite, JSON, HTML and a UTF-8 terminal refuse them. The library keeps such a name as its bytes;
everything a person or another program reads gets `printable(name)`.
"""

from __future__ import annotations

import os

__all__ = ["from_stored", "is_clean", "printable", "stored"]


def is_clean(text: str) -> bool:
    """Whether `text` can be written as UTF-8 as it is (no lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable(text: str) -> str:
    """`text` for showing and for UTF-8 files: each byte that was not UTF-8 becomes U+FFFD, the rest is kept."""
    if is_clean(text):
        return text
    try:
        raw = text.encode("utf-8", "surrogateescape")  # how the name is on disk (POSIX)
    except UnicodeEncodeError:
        raw = text.encode("utf-8", "surrogatepass")  # a lone surrogate of another origin (Windows names)
    return raw.decode("utf-8", "replace")


def stored(path: str) -> str | bytes:
    """A path as SQLite keeps it: text when it is valid UTF-8, else the file system's own bytes (a BLOB).

    A BLOB never equals a TEXT in SQLite, so an odd name and a clean one spelled alike never collide.
    """
    return path if is_clean(path) else os.fsencode(path)


def from_stored(value: str | bytes) -> str:
    """The inverse of `stored`: a path Python can open again."""
    return os.fsdecode(value) if isinstance(value, bytes) else value
