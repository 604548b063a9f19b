"""Bytes off the wire to a validated event, or a rejection that names what is wrong.

``parse_events`` takes a batch the fast way: each record goes straight into its contract's
Struct through one msgspec decoder per event type, built once. Only a record that this
refuses is read again, by ``parse_event``, which finds the reason: invalid UTF-8, not JSON,
not an object, a foreign ``type`` tag, or the first field that breaks the contract. So a
batch costs the decoding of its valid records plus the diagnosis of its broken ones.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from pydantic import ValidationError

from schemas.events import EVENT_CONTRACTS, RFC3339_TIME, EventType, InputEvent, rfc3339_time
from schemas.outputs import DeadLetterReason

MAX_RECORD_BYTES = 64 * 1024
MAX_INT_DIGITS = 4_300
"""Python's limit on converting digits to ``int``; longer JSON integers are read as floats."""


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a record is refused: an enum reason plus a message naming field and value.

    ``parsed`` is the event when the record met the contract but was refused for another
    reason (its dead letter then carries this form, counterparty pseudonymised).
    """

    reason: DeadLetterReason
    detail: str
    parsed: InputEvent | None = None


class _EventTimeText(msgspec.Struct, forbid_unknown_fields=False, gc=False):
    """Only ``event_time``, as text of ``RFC3339_TIME``'s form with at most six fraction digits.

    The contract's decoder reads times laxer than the contract says; a record whose time
    passes this as well decodes to exactly the time ``rfc3339_time`` reads. Anything else
    (a longer fraction, which ``rfc3339_time`` cuts, or no time at all) is read the slow way.
    """

    event_time: Annotated[
        str, msgspec.Meta(pattern="^" + RFC3339_TIME.pattern.replace(r"\d{1,9}", r"\d{1,6}") + "$")
    ]


_TIME_TEXT = msgspec.json.Decoder(_EventTimeText)
_DECODERS: dict[EventType, msgspec.json.Decoder[Any]] = {
    event_type: msgspec.json.Decoder(contract, strict=True)
    for event_type, contract in EVENT_CONTRACTS.items()
}
_ERROR_PATH = re.compile(r"^(?P<message>.*) - at `\$\.(?P<field>[^`]+)`$", re.S)
_MISSING_FIELD = re.compile(r"^Object missing required field `(?P<field>[^`]+)`")


def parse_events(
    values: Iterable[bytes | None], event_type: EventType, max_bytes: int = MAX_RECORD_BYTES
) -> list[InputEvent | Rejection]:
    """Decode and validate a batch of one topic, in order; the same decisions as ``parse_event``.

    >>> good = (b'{"event_id":"e1","customer_id":"c1","event_time":"2026-01-01T10:00:00+08:00",'
    ...         b'"amount":50}')
    >>> [getattr(parsed, "reason", "accepted") for parsed in parse_events([good, b"[]"], EventType.TOPUP)]
    ['accepted', <DeadLetterReason.INVALID_SCHEMA: 'invalid_schema'>]
    """
    decode = _DECODERS[event_type].decode
    check_time = _TIME_TEXT.decode
    parsed: list[InputEvent | Rejection] = []
    for value in values:
        if value is not None and len(value) <= max_bytes and (value.isascii() or _is_utf8(value)):
            try:  # msgspec skips unknown fields without checking their UTF-8, hence the check above
                check_time(value)
                parsed.append(decode(value))
                continue
            except (msgspec.MsgspecError, RecursionError):
                pass
        parsed.append(parse_event(value, event_type, max_bytes))
    return parsed


def parse_event(
    value: bytes | None, event_type: EventType, max_bytes: int = MAX_RECORD_BYTES
) -> InputEvent | Rejection:
    """Decode and validate one record strictly (no "12" for 12); never raises for bad input.

    The thorough path, one record at a time: ``parse_events`` sends here what it refuses.

    >>> parse_event(b'{"event_id": "e1"', EventType.CALL).reason
    <DeadLetterReason.NOT_JSON: 'not_json'>
    >>> ok = parse_event(b'{"event_id":"e1","customer_id":"c1","event_time":"2026-01-01T10:00:00+08:00",'
    ...                  b'"amount":50}', EventType.TOPUP)
    >>> ok.amount
    50.0
    >>> parse_event(b'{"event_id":"e1","customer_id":"c1","event_time":"2026-01-01T10:00:00",'
    ...             b'"amount":50}', EventType.TOPUP).detail
    "event_time='2026-01-01T10:00:00': must be RFC 3339 text with an offset, e.g. 2026-01-01T10:00:00+08:00"
    """
    if value is None:
        return Rejection(DeadLetterReason.INVALID_SCHEMA, "record has no value (tombstone)")
    if len(value) > max_bytes:
        return Rejection(DeadLetterReason.TOO_LARGE, f"record is {len(value)} bytes, limit {max_bytes}")
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError as utf8_error:
        return Rejection(DeadLetterReason.NOT_UTF8, f"invalid UTF-8 at byte {utf8_error.start}")
    try:
        document = _json_document(text)
    except ValueError as error:
        return Rejection(DeadLetterReason.NOT_JSON, str(error)[:200])
    if not isinstance(document, dict):
        return Rejection(DeadLetterReason.INVALID_SCHEMA, "expected a JSON object")
    if "type" in document and document["type"] != event_type.value:
        declared = str(document["type"])[:40]
        known = declared in EventType._value2member_map_
        where = f"does not belong on the {event_type.value} topic" if known else "unknown event type"
        return Rejection(DeadLetterReason.UNKNOWN_TYPE, f"type={declared!r}: {where}")
    if "event_time" in document:
        try:
            document["event_time"] = rfc3339_time(document["event_time"])
        except ValueError as error:
            return Rejection(
                DeadLetterReason.INVALID_SCHEMA, f"event_time={_shown(document['event_time'])}: {error}"
            )
    try:
        return msgspec.convert(document, EVENT_CONTRACTS[event_type], strict=True)
    except msgspec.ValidationError as error:
        return Rejection(DeadLetterReason.INVALID_SCHEMA, _describe(str(error), document))


def _is_utf8(value: bytes) -> bool:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _json_document(text: str) -> object:
    """The JSON value of ``text``, or ValueError: RFC 8259 plus ``NaN`` and ``Infinity``.

    Integers too long for ``int`` become floats; lone surrogate escapes and nesting that
    exhausts the parser are not JSON.

    >>> _json_document('{"x": [NaN, 1]}')
    {'x': [nan, 1]}
    >>> _json_document('"\\\\ud800"')
    Traceback (most recent call last):
    ...
    ValueError: lone surrogate escape in a string
    """
    try:
        document = json.loads(text, parse_int=_json_int)
    except RecursionError as error:
        raise ValueError("nested too deeply") from error
    try:
        json.dumps(document, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError("lone surrogate escape in a string") from error
    return document


def _json_int(digits: str) -> int | float:
    return int(digits) if len(digits) <= MAX_INT_DIGITS else float(digits)


def _describe(message: str, document: dict[str, Any]) -> str:
    """A msgspec validation message as ``field=value: message``, short enough for a dead letter.

    >>> _describe("Expected `float`, got `str` - at `$.duration_s`", {"duration_s": "60"})
    "duration_s='60': Expected `float`, got `str`"
    >>> _describe("Object missing required field `customer_id`", {})
    'customer_id: Object missing required field `customer_id`'
    """
    located = _ERROR_PATH.match(message)
    if located:
        field = located["field"]
        return f"{field}={_shown(document.get(field))}: {located['message']}"[:480]
    missing = _MISSING_FIELD.match(message)
    if missing:
        return f"{missing['field']}: {message}"[:480]
    return message[:480]


def _shown(value: object) -> str:
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:40] + "…"


def describe_validation_error(error: ValidationError) -> str:
    """The first problems of a pydantic error as ``field=value: message``, short enough to print."""
    parts = []
    for problem in error.errors(include_url=False)[:3]:
        field = ".".join(str(part) for part in problem["loc"]) or "record"
        shown = repr(problem.get("input"))
        if len(shown) > 40:
            shown = shown[:40] + "…"
        parts.append(f"{field}={shown}: {problem['msg']}")
    more = error.error_count() - len(parts)
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)[:480]
