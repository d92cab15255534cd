"""Refuse XML files whose prolog declares entities, before any parser sees them.

OSM XML and osmnx GraphML never carry a ``<!DOCTYPE>``. One with ``<!ENTITY>`` declarations
(the "billion laughs" shape: entities that expand to ten copies of the previous one) or a
reference to an external DTD is either a mistake or an attack on the parser: it can exhaust
memory or read local files. The check reads only the start of the file (decompressing
``.gz``/``.bz2``), up to the first element, so it is cheap and runs before libosmium or
ElementTree parse anything.
"""

from __future__ import annotations

import bz2
import gzip
import logging
import re
from pathlib import Path

from network.errors import NetworkError

log = logging.getLogger(__name__)

MAX_PROLOG_BYTES = 1 << 20  # declarations before the first element: real files need a few hundred bytes

_BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
    (b"<\x00?\x00", "utf-16-le"),  # no BOM: the declaration's first characters show the width
    (b"\x00<\x00?", "utf-16-be"),
)
_ENTITY = re.compile(r"<!\s*ENTITY", re.IGNORECASE)
_EXTERNAL = re.compile(r"<!DOCTYPE\s+[^\s\[>]+\s+(SYSTEM|PUBLIC)\b", re.IGNORECASE)
_WHY = "refused: entity expansion can exhaust memory or read local files"


def refuse_xml_entities(path: Path, *, fix: str) -> None:
    """Raise `NetworkError` when the XML prolog of `path` declares entities or an external DTD.

    Parameters
    ----------
    path
        An XML file, optionally ``.gz`` or ``.bz2`` compressed. Files that are not XML (no
        ``<`` at the start) and files that cannot be decompressed pass: the parser that reads
        them next reports those.
    fix
        What the user should do, appended to the one-line message (e.g. "export the area
        again from openstreetmap.org").

    Raises
    ------
    NetworkError
        One line naming the file, what was found and `fix`.

    Examples
    --------
    >>> refuse_xml_entities(Path("haidian.osm"), fix="export the area again")  # doctest: +SKIP
    """
    text, complete = read_xml_head(Path(path))
    problem = _prolog_problem(text, complete)
    if problem is not None:
        raise NetworkError(f"{path}: {problem}; {fix}")


def read_xml_head(path: Path, *, max_bytes: int = MAX_PROLOG_BYTES) -> tuple[str, bool]:
    """The start of an XML file as text, and whether that is the whole file.

    Parameters
    ----------
    path
        An XML file, optionally ``.gz`` or ``.bz2`` compressed (by its name).
    max_bytes
        How many (decompressed) bytes to read at most.

    Returns
    -------
    tuple of (str, bool)
        The text (decoded by its byte-order mark or first characters; ASCII-compatible
        encodings as Latin-1, which keeps every markup character) and True when the file has no
        more bytes. A file that cannot be read or decompressed gives ``("", True)``: the parser
        that reads it next reports why.
    """
    path = Path(path)
    name = path.name.lower()
    opener = gzip.open if name.endswith(".gz") else bz2.open if name.endswith(".bz2") else open
    try:
        with opener(path, "rb") as f:
            head = f.read(max_bytes + 1)
    except (OSError, EOFError, ValueError) as exc:  # not gzip/bzip2 after all: the reader says so
        log.debug("%s: could not read the start of the XML: %s", path, exc)
        return "", True
    return _decode(head[:max_bytes]), len(head) <= max_bytes


def _decode(head: bytes) -> str:
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return head.decode(encoding, errors="replace")
    return head.decode("latin-1")  # ASCII-compatible encodings: the markup bytes are ASCII


def _prolog_problem(text: str, complete: bool) -> str | None:
    """Why the prolog of `text` is refused, or None; stops at the first element."""
    unfinished = None if complete else (
        f"more than {MAX_PROLOG_BYTES >> 20} MiB of XML declarations before the first element ({_WHY})"
    )
    i, n = (1 if text.startswith("\ufeff") else 0), len(text)
    while True:
        while i < n and text[i] in " \t\r\n":
            i += 1
        if i >= n:
            return unfinished
        if text.startswith("<?", i) or text.startswith("<!--", i):
            close = "?>" if text[i + 1] == "?" else "-->"
            j = text.find(close, i + 2)
            if j < 0:
                return unfinished
            i = j + len(close)
        elif text.startswith("<!DOCTYPE", i):
            end = _doctype_end(text, i + len("<!DOCTYPE"))
            decl = text[i:] if end < 0 else text[i:end]
            if _ENTITY.search(decl):
                return f"the XML declares entities in a <!DOCTYPE> before its first element ({_WHY})"
            if _EXTERNAL.match(decl):
                return f"the XML refers to an external DTD in its <!DOCTYPE> ({_WHY})"
            if end < 0:
                return unfinished
            i = end
        else:
            return None  # the root element (or not XML at all): the prolog is over


def _doctype_end(text: str, i: int) -> int:
    """Index just after the ``>`` closing a ``<!DOCTYPE`` whose name starts at `i`, or -1."""
    depth, quote, n = 0, "", len(text)
    while i < n:
        c = text[i]
        if quote:
            if c == quote:
                quote = ""
        elif c in "\"'":
            quote = c
        elif text.startswith("<!--", i):
            j = text.find("-->", i + 4)
            if j < 0:
                return -1
            i = j + 2
        elif c == "[":
            depth += 1
        elif c == "]":
            depth -= 1
        elif c == ">" and depth <= 0:
            return i + 1
        i += 1
    return -1
