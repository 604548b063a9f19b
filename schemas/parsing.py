"""Bytes off the wire to a validated event, or a rejection that names what is wrong."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from schemas.events import EVENT_MODELS, EventType, InputEvent
from schemas.outputs import DeadLetterReason

MAX_RECORD_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a record is refused: an enum reason plus a message naming field and value.

    ``parsed`` is the event when the record met the contract but was refused for another
    reason (its dead letter then carries this form, counterparty pseudonymised).
    """

    reason: DeadLetterReason
    detail: str
    parsed: InputEvent | None = None


def parse_event(
    value: bytes | None, event_type: EventType, max_bytes: int = MAX_RECORD_BYTES
) -> InputEvent | Rejection:
    """Decode and validate one record strictly (no "12" for 12); never raises for bad input.

    >>> parse_event(b'{"event_id": "e1"', EventType.CALL).reason
    <DeadLetterReason.NOT_JSON: 'not_json'>
    >>> ok = parse_event(b'{"event_id":"e1","customer_id":"c1","event_time":"2026-01-01T10:00:00+08:00",'
    ...                  b'"amount":50}', EventType.TOPUP)
    >>> ok.amount
    50.0
    >>> parse_event(b'{"event_id":"e1","customer_id":"c1","event_time":"2026-01-01T10:00:00",'
    ...             b'"amount":50}', EventType.TOPUP).detail.split(",")[0]
    "event_time='2026-01-01T10:00:00': Value error"
    """
    if value is None:
        return Rejection(DeadLetterReason.INVALID_SCHEMA, "record has no value (tombstone)")
    if len(value) > max_bytes:
        return Rejection(DeadLetterReason.TOO_LARGE, f"record is {len(value)} bytes, limit {max_bytes}")
    try:
        return EVENT_MODELS[event_type].model_validate_json(value, strict=True)  # type: ignore[return-value]
    except ValidationError as error:
        return _rejection(value, event_type, error)


def _rejection(value: bytes, event_type: EventType, error: ValidationError) -> Rejection:
    first = error.errors(include_url=False)[0]
    if first["type"] == "json_invalid":
        try:
            value.decode("utf-8")
        except UnicodeDecodeError as utf8_error:
            return Rejection(DeadLetterReason.NOT_UTF8, f"invalid UTF-8 at byte {utf8_error.start}")
        return Rejection(DeadLetterReason.NOT_JSON, first["msg"][:200])
    if first["type"] == "model_type":
        return Rejection(DeadLetterReason.INVALID_SCHEMA, "expected a JSON object")
    for problem in error.errors(include_url=False):
        if problem["loc"] == ("type",):
            declared = str(problem.get("input"))[:40]
            known = declared in EventType._value2member_map_
            where = f"does not belong on the {event_type.value} topic" if known else "unknown event type"
            return Rejection(DeadLetterReason.UNKNOWN_TYPE, f"type={declared!r}: {where}")
    return Rejection(DeadLetterReason.INVALID_SCHEMA, describe_validation_error(error))


def describe_validation_error(error: ValidationError) -> str:
    """The first problems as ``field=value: message``, short enough for a dead-letter record."""
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
