"""Helpers shared by the readers: reading a file and parsing JSON (or a YAML config) with clear errors, checking
field types, and building an Example from character spans.

Every helper raises :class:`DataError`; readers add the file and the record with :meth:`DataError.located`.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from relenc.data.example import Example, Span
from relenc.data.tokenize import char_span_to_tokens, tokenize
from relenc.errors import DataError


def read_text(path: str | Path) -> str:
    """The file's text, or a DataError that says why it cannot be read.

    A leading byte-order mark (which some Windows editors add) is dropped, so it cannot break the first record;
    ``\\r\\n`` and a lone ``\\r`` become ``\\n``, as in Python's text mode. Bytes that are not UTF-8 are reported
    with their line (what an editor shows) and their byte offset in the file (what a hex viewer shows).
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise DataError("file not found", p) from None
    except IsADirectoryError:
        raise DataError("is a directory, expected a file", p) from None
    except OSError as exc:
        raise DataError(f"cannot read: {exc.strerror}", p) from None
    bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        text = data[bom:].decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = bom + exc.start
        line = data[:offset].count(b"\n") + 1
        raise DataError(
            f"not UTF-8 text ({exc.reason} at byte {offset}); save the file as UTF-8", p, f"line {line}"
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_yaml_mapping(path: str | Path, expected: str) -> dict[str, Any]:
    """A YAML file's top-level mapping (an empty file: ``{}``); a file that is not readable, not YAML or not a
    mapping is one RelencError naming it, with the line and column of a syntax error. ``expected`` says what the
    mapping holds, for the message: "a mapping with 'model' and 'training' sections"."""
    import yaml

    from relenc.errors import RelencError

    text = read_text(path)  # names the file when it is missing or not UTF-8 (with the line and byte)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).replace("\n", " ")
        raise RelencError(f"{path}{where}: not valid YAML: {problem}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise RelencError(f"{path}: expected {expected}, got {type(data).__name__}")
    return data


def text_lines(text: str) -> list[str]:
    """Split on ``\\n`` only, dropping a trailing ``\\r``.

    ``str.splitlines`` also splits on U+2028, form feeds and the like, which would put reported line numbers out
    of step with what an editor shows, and would cut JSON strings that hold such characters.
    """
    return [line.removesuffix("\r") for line in text.split("\n")]


def parse_json(text: str, source: str | Path, line: int | None = None) -> Any:
    """``json.loads`` whose failure is a DataError at the right line.

    For a whole-file document the decoder's line is used; for one JSON-lines record pass its ``line``.
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno if line is None else line}, column {exc.colno}"
        raise DataError(f"invalid JSON: {exc.msg}", source, where) from None
    except RecursionError:
        raise DataError("invalid JSON: nested too deeply", source, None if line is None else f"line {line}") from None


def iter_json_lines(text: str | Iterable[str], source: str | Path) -> Iterator[tuple[int, Any]]:
    """``(line number, parsed value)`` for every non-blank line of a JSON-lines text, or of its lines as they are
    read from an open file (so a large file streams)."""
    lines = text_lines(text) if isinstance(text, str) else (line.rstrip("\r\n") for line in text)
    for number, line in enumerate(lines, start=1):
        if line.strip():
            yield number, parse_json(line, source, number)


def json_objects(text: str | Iterable[str], source: str | Path, needs: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """Like :func:`iter_json_lines`, but every value must be a JSON object: a DataError names the line and says
    what each line ``needs`` (``"a string field 'text'"``)."""
    for number, record in iter_json_lines(text, source):
        if not isinstance(record, dict):
            raise DataError(f"each line needs {needs}", source, f"line {number}")
        yield number, record


def record_location(where: str, record: Any, id_key: str = "id") -> str:
    """``"line 3 (id 'x')"`` when the record has a usable id, else just ``where``."""
    if isinstance(record, dict) and isinstance(record.get(id_key), str | int) and not isinstance(record[id_key], bool):
        return f"{where} (id {str(record[id_key])!r})"
    return where


def require_str(value: Any, what: str, optional: bool = False) -> str | None:
    """``value`` if it is a string (or ``None`` when ``optional``), else a DataError naming ``what``."""
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise DataError(f"{what} must be a string, got {value!r}")
    return value


def require_int(value: Any, what: str) -> int:
    """``value`` if it is an integer (``true``/``false`` are not), else a DataError naming ``what``."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise DataError(f"{what} must be an integer, got {value!r}")
    return value


def require_str_list(value: Any, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise DataError(f"{what} must be a list of strings")
    return value


def example_from_char_spans(
    id_: str,
    text: str,
    head: tuple[int, int],
    tail: tuple[int, int],
    label: str | None,
    head_type: str | None = None,
    tail_type: str | None = None,
    meta: dict[str, Any] | None = None,
) -> Example:
    """Tokenise ``text`` so both character spans fall on token boundaries and build the Example.

    Whitespace at the ends of a span is dropped (users' spans often include a trailing space); a span that is
    empty, out of range or only whitespace is a DataError.
    """
    for role, (start, end) in (("head", head), ("tail", tail)):
        require_int(start, f"{role} character start")
        require_int(end, f"{role} character end")
        if not 0 <= start < end <= len(text):
            raise DataError(
                f"{role} character span [{start}, {end}) is empty or out of range for a text of {len(text)} characters"
            )
        if not text[start:end].strip():
            raise DataError(f"{role} span [{start}, {end}) covers only whitespace")
    for role, etype in (("head", head_type), ("tail", tail_type)):
        require_str(etype, f"{role} type", optional=True)
    trimmed = [_trim(text, *head), _trim(text, *tail)]
    tokens = tokenize(text, [b for span in trimmed for b in span])
    spans = []
    for role, (start, end), etype in (("head", trimmed[0], head_type), ("tail", trimmed[1], tail_type)):
        rng = char_span_to_tokens(tokens, start, end)
        if rng is None:  # cannot happen: tokenize() splits at both ends; kept as a guard with a clear message
            raise DataError(f"{role} span [{start}, {end}) does not cover whole tokens")
        spans.append(Span(rng[0], rng[1], text[start:end], etype, start, end))
    return Example(
        id=id_,
        tokens=tuple(t for t, _, _ in tokens),
        head=spans[0],
        tail=spans[1],
        label=label,
        text=text,
        meta=meta or {},
    )


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop surrounding whitespace from a character span."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
