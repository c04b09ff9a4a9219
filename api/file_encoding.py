"""The text encoding of an import file, decided strictly before a row is read.

Excel on Chinese Windows saves CSV in GBK (code page 936); GB18030 is its superset. The
registry reads UTF-8 (with or without a byte-order mark) and GB18030: a byte-order mark
decides, else the whole file must decode as UTF-8, else as GB18030. A file that decodes under
none of them is refused as a whole, naming the line and byte offset, before anything is
stored: text is never decoded with replacement characters.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1 << 20
BOMS = ((codecs.BOM_UTF8, "utf-8-sig", "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16", "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16", "utf-16"))
DETECTED = ("utf-8", "gb18030")


class UndecodableFile(Exception):
    """No encoding the registry reads explains the file's bytes."""


@dataclass(frozen=True)
class FileEncoding:
    """How to open the file (`codec`) and what to call its encoding in reports (`name`)."""

    codec: str
    name: str


def _first_error(path: Path, codec: str) -> int | None:
    """The byte offset at which `codec` fails on the file, or None when it decodes."""
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    offset = 0
    with path.open("rb") as handle:
        while True:
            chunk = handle.read(CHUNK)
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                # the decoder may hold back bytes of an incomplete character from the
                # previous chunk; exc.start counts within what it was given
                held = len(exc.object) - len(chunk)
                return max(offset - held + exc.start, 0)
            if not chunk:
                return None
            offset += len(chunk)


def _line_of(path: Path, offset: int) -> int:
    with path.open("rb") as handle:
        return handle.read(offset).count(b"\n") + 1


def _refusal(path: Path, tried: list[tuple[str, int]]) -> UndecodableFile:
    codec, offset = max(tried, key=lambda item: item[1])  # the one that read furthest
    with path.open("rb") as handle:
        handle.seek(offset)
        sample = handle.read(4)
    names = " nor as ".join(name.upper() for name, _ in tried)
    return UndecodableFile(
        f"{path.name}, line {_line_of(path, offset)}, byte {offset}: the bytes {sample!r} "
        f"decode neither as {names} (read furthest as {codec.upper()}). Nothing was imported. "
        "Save the file as UTF-8 (Excel: 'CSV UTF-8') or name its encoding with --encoding.")


def detect(path: Path, requested: str | None = None) -> FileEncoding:
    """The file's encoding: `requested` if given (checked strictly), else by BOM, else
    strict UTF-8, else strict GB18030."""
    if requested:
        try:
            codec = codecs.lookup(requested).name
        except LookupError:
            raise UndecodableFile(f"Unknown encoding {requested!r}.") from None
        if codec == "utf-8" and path.read_bytes()[:3] == codecs.BOM_UTF8:
            codec = "utf-8-sig"
        failure = _first_error(path, codec)
        if failure is not None:
            raise _refusal(path, [(requested, failure)])
        return FileEncoding(codec, codecs.lookup(requested).name)
    with path.open("rb") as handle:
        head = handle.read(4)
    for bom, codec, name in BOMS:
        if head.startswith(bom):
            failure = _first_error(path, codec)
            if failure is not None:
                raise _refusal(path, [(name, failure)])
            return FileEncoding(codec, name)
    tried = []
    for codec in DETECTED:
        failure = _first_error(path, codec)
        if failure is None:
            return FileEncoding(codec, codec)
        tried.append((codec, failure))
    raise _refusal(path, tried)
