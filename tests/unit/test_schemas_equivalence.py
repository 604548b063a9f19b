"""The msgspec contracts decide every record as the pydantic ones did: same verdict, same reason.

The oracle (``tests.fixtures.pydantic_contracts``) is the pydantic definition and the
per-record validator the worker ran before the batch path. Records are valid events of
every type, broken in the ways upstream systems break them.
"""

from __future__ import annotations

import json
import re
from typing import Any

import msgspec
import orjson
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from msgspec import structs

from schemas.events import (
    EVENT_CONTRACTS,
    CallDirection,
    ComplaintCategory,
    ComplaintChannel,
    CounterpartyNetwork,
    EventType,
    InputEvent,
    LifecycleKind,
    PaymentType,
    TopupChannel,
)
from schemas.export import json_schema
from schemas.outputs import DeadLetterReason
from schemas.parsing import Rejection, parse_event, parse_events
from streams.validation import RecordValidator
from tests.fixtures.pydantic_contracts import LEGACY_MODELS, LegacyEvent, LegacyRecordValidator

MAX_BYTES = 4096
KEY = b"pseudonym-key"
NEW = RecordValidator(KEY, MAX_BYTES)
OLD = LegacyRecordValidator(KEY, MAX_BYTES)

FIELDS: dict[EventType, tuple[str, ...]] = {
    EventType.CALL: (
        "direction",
        "duration_s",
        "counterparty",
        "counterparty_network",
        "dropped",
        "roaming",
        "charge",
    ),
    EventType.TOPUP: ("amount", "currency", "channel"),
    EventType.COMPLAINT: ("category", "severity", "channel", "resolved"),
    EventType.LIFECYCLE: ("kind", "plan", "payment_type"),
}
COMMON = ("event_id", "customer_id", "event_time", "type")
STATED = {"type", "minimum", "maximum", "exclusiveMinimum", "format", "minLength", "maxLength", "pattern"}

texts = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=70
) | st.sampled_from(["", "x", "+8613800000001", "USD", "usd", "USD\n", "EU", "EURO", "12", "true", "null"])
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


@st.composite
def event_times(draw: st.DrawFn) -> str:
    """RFC 3339 text, mostly valid, otherwise with a part out of range or in another form."""
    if draw(st.integers(0, 9)) < 7:
        month, day = draw(st.integers(1, 12)), draw(st.integers(1, 28))
        hour, minute, second = draw(st.integers(0, 23)), draw(st.integers(0, 59)), draw(st.integers(0, 59))
        year = draw(st.integers(2000, 2099) | st.integers(1, 9999))
        fraction = draw(st.sampled_from(["", ".5"]) | st.from_regex(r"\.\d{1,9}", fullmatch=True))
        sign, hours, minutes = draw(st.sampled_from("+-")), draw(st.integers(0, 23)), draw(st.integers(0, 59))
        offset = draw(st.sampled_from(["Z", "z", "+00:00", "-00:00", f"{sign}{hours:02d}:{minutes:02d}"]))
        separator = draw(st.sampled_from("TTt "))
    else:
        month, day = draw(st.integers(0, 13)), draw(st.integers(0, 32))
        hour, minute, second = draw(st.integers(0, 25)), draw(st.integers(0, 61)), draw(st.integers(0, 61))
        year = draw(st.integers(0, 9999))
        fraction = draw(st.from_regex(r"\.\d{0,12}", fullmatch=True) | st.just(""))
        sign, hours, minutes = draw(st.sampled_from("+-")), draw(st.integers(0, 25)), draw(st.integers(0, 61))
        offset = draw(
            st.sampled_from(
                [
                    "",
                    f"{sign}{hours:02d}{minutes:02d}",
                    f"{sign}{hours:02d}",
                    f"{sign}{hours:02d}:{minutes:02d}",
                ]
            )
        )
        separator = draw(st.sampled_from("Tt x"))
    return (
        f"{year:04d}-{month:02d}-{day:02d}{separator}{hour:02d}:{minute:02d}:{second:02d}{fraction}{offset}"
    )


@st.composite
def valid_events(draw: st.DrawFn, event_type: EventType) -> dict[str, Any]:
    """A valid event of ``event_type`` with some optional fields left out."""
    event: dict[str, Any] = {
        "event_id": draw(st.text(min_size=1, max_size=128)),
        "customer_id": draw(st.sampled_from(["C0000001", "C0000002", "é客户"])),
        "event_time": draw(event_times()),
    }
    if draw(st.booleans()):
        event["type"] = event_type.value
    optional: dict[str, Any] = {}
    if event_type is EventType.CALL:
        event["direction"] = draw(st.sampled_from(CallDirection)).value
        event["duration_s"] = draw(st.floats(0, 86_400) | st.integers(0, 86_400))
        event["counterparty"] = draw(st.text(min_size=1, max_size=64))
        optional = {
            "counterparty_network": draw(st.sampled_from(CounterpartyNetwork)).value,
            "dropped": draw(st.booleans()),
            "roaming": draw(st.booleans()),
            "charge": draw(st.floats(0, 100_000)),
        }
    elif event_type is EventType.TOPUP:
        event["amount"] = draw(st.floats(0, 100_000, exclude_min=True) | st.integers(1, 100_000))
        optional = {
            "currency": draw(st.from_regex(r"[A-Z]{3}", fullmatch=True) | st.none()),
            "channel": draw(st.sampled_from([None, *(c.value for c in TopupChannel)])),
        }
    elif event_type is EventType.COMPLAINT:
        event["category"] = draw(st.sampled_from(ComplaintCategory)).value
        event["severity"] = draw(st.integers(1, 5))
        optional = {
            "channel": draw(st.sampled_from([None, *(c.value for c in ComplaintChannel)])),
            "resolved": draw(st.booleans()),
        }
    else:
        event["kind"] = draw(st.sampled_from(LifecycleKind)).value
        optional = {
            "plan": draw(st.text(min_size=1, max_size=64) | st.none()),
            "payment_type": draw(st.sampled_from([None, *(p.value for p in PaymentType)])),
        }
    for name, value in optional.items():
        if draw(st.booleans()):
            event[name] = value
    return event


def _number_string(value: object) -> object:
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


@st.composite
def broken_documents(draw: st.DrawFn, event: dict[str, Any], event_type: EventType) -> object:
    """``event`` changed in one or more of the ways records break before they are encoded."""
    names = sorted({*COMMON, *FIELDS[event_type]})
    for _ in range(draw(st.integers(1, 2))):
        name = draw(st.sampled_from(names))
        how = draw(
            st.sampled_from(
                [
                    "wrong_type",
                    "number_string",
                    "missing",
                    "out_of_range",
                    "null",
                    "naive_time",
                    "epoch_time",
                    "type_tag",
                    "extra_field",
                    "long_text",
                ]
            )
        )
        if how == "wrong_type":
            event[name] = draw(json_values)
        elif how == "number_string":
            event[name] = _number_string(event.get(name, draw(st.integers())))
        elif how == "missing":
            event.pop(name, None)
        elif how == "out_of_range":
            event[name] = draw(
                st.sampled_from([-1, -0.0, 0, 0.0, 6, 86_400.5, 100_000.01, 1e308, -1e-300, 10**30, 2**63])
            )
        elif how == "null":
            event[name] = None
        elif how == "naive_time":
            event["event_time"] = re.sub(r"([Zz]|[+-]\d\d:?\d\d)$", "", str(event.get("event_time", "")))
        elif how == "epoch_time":
            event["event_time"] = draw(st.sampled_from([1762768800, 1762768800.5, "1762768800", -1, 0]))
        elif how == "type_tag":
            event["type"] = draw(st.sampled_from([*(t.value for t in EventType), "sms", "CALL", "", 1, None]))
        elif how == "extra_field":
            event[draw(st.sampled_from(["cell_id", "x", "é", ""]))] = draw(json_values)
        else:
            event[name] = draw(st.text(min_size=60, max_size=140))
    return event if draw(st.integers(0, 19)) else draw(json_values)


@st.composite
def encoded(draw: st.DrawFn, document: object) -> bytes:
    """``document`` as JSON, sometimes damaged as bytes: cut, bad UTF-8, duplicate or odd keys."""
    value = json.dumps(document, ensure_ascii=draw(st.booleans())).encode()
    how = draw(
        st.sampled_from(
            ["as_is"] * 6 + ["truncated", "bad_utf8", "duplicate", "non_finite", "huge", "spaces"]
        )
    )
    if how == "truncated":
        return value[: draw(st.integers(0, max(len(value) - 1, 0)))]
    if how == "bad_utf8":
        at = draw(st.integers(0, len(value)))
        return value[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x80"])) + value[at:]
    if not value.startswith(b"{") or value == b"{}":
        return value
    if how == "duplicate":
        name = draw(st.sampled_from([*COMMON, "duration_s", "amount", "severity", "kind", "cell_id"]))
        repeat = json.dumps(draw(json_values | st.sampled_from(["call", 50, "2026-01-01T10:00:00Z"])))
        return value[:-1] + f', "{name}": {repeat}'.encode() + b"}"
    if how == "non_finite":
        name = draw(st.sampled_from(["x", "duration_s", "amount", "charge", "severity"]))
        literal = draw(st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "1" + "0" * 400]))
        return value[:-1] + f', "{name}": {literal}'.encode() + b"}"
    if how == "huge":
        return value[:-1] + b', "padding": "' + b"p" * MAX_BYTES + b'"}'
    if how == "spaces":
        return b" \n\t" + value.replace(b'":', b'" : ') + b"\r\n"
    return value


@st.composite
def records(draw: st.DrawFn, event_type: EventType) -> tuple[bytes | None, bytes | None]:
    """A keyed record: valid, or broken before or after encoding, with the right key or not."""
    event = draw(valid_events(event_type))
    customer_id = str(event["customer_id"])
    document: object = event
    if draw(st.booleans()):
        document = draw(broken_documents(dict(event), event_type))
    value: bytes | None = draw(encoded(document)) if draw(st.integers(0, 40)) else None
    key_choices = [customer_id.encode()] * 8 + [None, b"", b"C0000003"]
    return draw(st.sampled_from(key_choices)), value


def _fields(event: InputEvent | LegacyEvent) -> dict[str, Any]:
    if isinstance(event, msgspec.Struct):
        return structs.asdict(event)
    return event.model_dump()


def _assert_same_decision(
    new: InputEvent | Rejection, old: LegacyEvent | Rejection, record: tuple[bytes | None, bytes | None]
) -> None:
    if isinstance(old, Rejection):
        assert isinstance(new, Rejection), (record, old)
        assert new.reason is old.reason, (record, new, old)
        if old.reason in (DeadLetterReason.UNKNOWN_TYPE, DeadLetterReason.TOO_LARGE):
            assert new.detail == old.detail
        assert new.detail
        return
    assert not isinstance(new, Rejection), (record, new)
    new_fields, old_fields = _fields(new), _fields(old)
    assert new_fields == old_fields, record
    assert new.event_time.utcoffset() == old.event_time.utcoffset()
    assert type(new).__name__ == type(old).__name__


class TestSameDecisions:
    @settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(data=st.data(), event_type=st.sampled_from(EventType))
    def test_a_batch_gets_the_verdict_and_reason_the_pydantic_path_gave(
        self, data: st.DataObject, event_type: EventType
    ) -> None:
        """Every record of a batch of valid and broken records is accepted or refused as before, for the
        same reason, and an accepted one carries the same values."""
        batch = data.draw(st.lists(records(event_type), min_size=1, max_size=12))
        validated = NEW.validate_batch(batch, event_type)
        for record, new in zip(batch, validated, strict=True):
            _assert_same_decision(new, OLD.validate(*record, event_type), record)

    @settings(max_examples=300, deadline=None)
    @given(data=st.data(), event_type=st.sampled_from(EventType))
    def test_the_thorough_path_agrees_with_the_batch_path(
        self, data: st.DataObject, event_type: EventType
    ) -> None:
        """A record read on its own (``parse_event``) gets what its batch gave it."""
        values = [value for _, value in data.draw(st.lists(records(event_type), min_size=1, max_size=8))]
        for value, batched in zip(values, parse_events(values, event_type, MAX_BYTES), strict=True):
            alone = parse_event(value, event_type, MAX_BYTES)
            assert type(alone) is type(batched)
            if isinstance(alone, Rejection):
                assert isinstance(batched, Rejection)
                assert (alone.reason, alone.detail) == (batched.reason, batched.detail)
            else:
                assert alone == batched

    @settings(max_examples=200, deadline=None)
    @given(text=event_times())
    def test_event_time_text_is_read_as_before(self, text: str) -> None:
        """Every form of time text is accepted or refused as before, and read to the same instant."""
        value = orjson.dumps({"event_id": "e", "customer_id": "c", "event_time": text, "amount": 5})
        _assert_same_decision(
            NEW.validate(b"c", value, EventType.TOPUP),
            OLD.validate(b"c", value, EventType.TOPUP),
            (b"c", value),
        )


class TestRejectionDetail:
    @settings(max_examples=200, deadline=None)
    @given(data=st.data(), event_type=st.sampled_from(EventType))
    def test_a_contract_violation_names_a_field_of_the_contract(
        self, data: st.DataObject, event_type: EventType
    ) -> None:
        """An invalid_schema detail of an object starts with the field it is about."""
        event = data.draw(valid_events(event_type))
        document = data.draw(broken_documents(event, event_type))
        assume(isinstance(document, dict))
        parsed = parse_event(json.dumps(document).encode(), event_type, MAX_BYTES)
        if isinstance(parsed, Rejection) and parsed.reason is DeadLetterReason.INVALID_SCHEMA:
            field = re.match(r"^(\w+)[=:]", parsed.detail)
            assert field, parsed.detail
            assert field[1] in {*COMMON, *FIELDS[event_type]}


class TestExportedSchema:
    def test_each_input_schema_states_what_the_pydantic_one_stated(self) -> None:
        """Field names, required fields, enums and numeric and length bounds are unchanged."""

        def bounds(schema: dict[str, Any]) -> dict[str, Any]:
            definitions = schema.get("$defs", {})
            stated: dict[str, Any] = {"required": schema["required"]}
            for name, field in schema["properties"].items():
                options = field.get("anyOf", [field])
                facts = []
                for option in options:
                    option = definitions.get(option.get("$ref", "").rsplit("/", 1)[-1], option)
                    values = option.get("enum") or ([option["const"]] if "const" in option else None)
                    kept = {k: v for k, v in option.items() if k in STATED}
                    if "pattern" in kept:  # the Struct adds the length the pattern already implies
                        kept.pop("maxLength", None)
                    facts.append((sorted(values) if values else None, sorted(kept.items(), key=str)))
                stated[name] = (sorted(facts, key=str), field.get("default"))
            return stated

        for event_type, model in LEGACY_MODELS.items():
            new = json_schema(EVENT_CONTRACTS[event_type])
            assert bounds(new) == bounds(model.model_json_schema(mode="validation")), event_type
