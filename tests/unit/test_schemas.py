"""The public event contracts: strict validation with reasons that name the field."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from schemas.events import CallEvent, EventType, LifecycleEvent, TopupEvent
from schemas.export import schema_documents
from schemas.outputs import DeadLetterReason
from schemas.parsing import Rejection, parse_event

CALL = {
    "event_id": "e-1",
    "customer_id": "C1",
    "event_time": "2026-05-10T10:00:00+08:00",
    "direction": "outgoing",
    "duration_s": 60.0,
    "counterparty": "+8613800000001",
}


def rejection(value: bytes, event_type: EventType = EventType.CALL) -> Rejection:
    parsed = parse_event(value, event_type)
    assert isinstance(parsed, Rejection), parsed
    return parsed


class TestAcceptedEvents:
    def test_call_defaults_fill_optional_fields(self) -> None:
        """A minimal call is accepted with on-net, not dropped, no roaming and zero charge."""
        parsed = parse_event(orjson.dumps(CALL), EventType.CALL)
        assert isinstance(parsed, CallEvent)
        assert (parsed.counterparty_network.value, parsed.dropped, parsed.roaming, parsed.charge) == (
            "on_net",
            False,
            False,
            0.0,
        )

    def test_unknown_fields_are_ignored(self) -> None:
        """Upstream may add fields without breaking consumers."""
        parsed = parse_event(orjson.dumps({**CALL, "cell_id": "A17"}), EventType.CALL)
        assert isinstance(parsed, CallEvent)

    def test_integer_amount_is_a_number(self) -> None:
        """JSON integers are valid numbers for float fields."""
        event = {**CALL, "amount": 50}
        parsed = parse_event(orjson.dumps(event), EventType.TOPUP)
        assert isinstance(parsed, TopupEvent)
        assert parsed.amount == 50.0

    def test_matching_type_tag_is_accepted(self) -> None:
        """The JSON Lines ``type`` tag may travel with the event on its own topic."""
        event = {**CALL, "type": "lifecycle", "kind": "port_out"}
        assert isinstance(parse_event(orjson.dumps(event), EventType.LIFECYCLE), LifecycleEvent)


class TestRejectedEvents:
    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"event_time": "2026-05-10T10:00:00"}, "event_time"),
            ({"duration_s": -1.0}, "duration_s"),
            ({"duration_s": 86_401.0}, "duration_s"),
            ({"duration_s": "60"}, "duration_s"),
            ({"direction": "sideways"}, "direction"),
            ({"dropped": "yes"}, "dropped"),
            ({"customer_id": "C" * 65}, "customer_id"),
            ({"event_id": ""}, "event_id"),
        ],
    )
    def test_contract_violations_name_the_field(self, changes: dict[str, object], field: str) -> None:
        """Wrong types, ranges, enums, lengths and naive timestamps are rejected naming the field."""
        found = rejection(orjson.dumps({**CALL, **changes}))
        assert found.reason is DeadLetterReason.INVALID_SCHEMA
        assert found.detail.startswith(f"{field}=")

    def test_missing_required_field_is_named(self) -> None:
        """A missing customer id is reported as such."""
        event = {key: value for key, value in CALL.items() if key != "customer_id"}
        assert "customer_id" in rejection(orjson.dumps(event)).detail

    def test_topup_amount_must_be_positive(self) -> None:
        """A zero top-up is not a top-up."""
        event = {**CALL, "amount": 0}
        assert rejection(orjson.dumps(event), EventType.TOPUP).detail.startswith("amount=")

    def test_invalid_utf8_is_its_own_reason(self) -> None:
        """Bytes that are not UTF-8 are told apart from malformed JSON."""
        assert rejection(b"\xff\xfe{}").reason is DeadLetterReason.NOT_UTF8

    def test_truncated_json_is_not_json(self) -> None:
        """Half a document is malformed JSON."""
        assert rejection(b'{"event_id": "e').reason is DeadLetterReason.NOT_JSON

    def test_oversized_record_is_rejected_before_parsing(self) -> None:
        """A megabyte record is refused by size, whatever it contains."""
        assert rejection(b"x" * (1024 * 1024)).reason is DeadLetterReason.TOO_LARGE

    def test_unknown_type_tag_is_rejected(self) -> None:
        """An event type the contract does not know goes to the dead-letter topic as unknown."""
        found = rejection(orjson.dumps({**CALL, "type": "sms"}))
        assert found.reason is DeadLetterReason.UNKNOWN_TYPE

    def test_event_on_the_wrong_topic_is_rejected(self) -> None:
        """A top-up on the call topic is refused, not misread as a call."""
        found = rejection(orjson.dumps({**CALL, "type": "topup", "amount": 5}))
        assert "does not belong" in found.detail


class TestSchemaExport:
    def test_committed_json_schemas_are_current(self) -> None:
        """schemas/json matches the models; run `make schemas` after changing a contract."""
        directory = Path(__file__).resolve().parents[2] / "schemas" / "json"
        committed = {path.name: path.read_text(encoding="utf-8") for path in directory.glob("*.json")}
        assert committed == schema_documents()
