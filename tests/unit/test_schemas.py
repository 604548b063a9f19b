"""The public event contracts: strict validation with reasons that name the field."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from schemas.events import CallEvent, EventType, LifecycleEvent, TopupEvent
from schemas.export import schema_documents
from schemas.outputs import DeadLetterReason
from schemas.parsing import Rejection, parse_event, parse_events

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


PROFILE = {
    "event_id": "l-1",
    "customer_id": "C1",
    "event_time": "2026-05-10T10:00:00+08:00",
    "kind": "profile",
    "plan": "family-xl",
    "payment_type": "postpaid",
    "activated_on": "2021-03-01T09:30:00+08:00",
    "commitment_months": 24,
    "monthly_fee": 39.5,
    "bundled_services": 2,
}


class TestProfileRecords:
    def test_profile_record_with_every_fact_is_accepted(self) -> None:
        """A go-live profile record (contract 1.4) carries plan, payment, activation and plan facts."""
        parsed = parse_event(orjson.dumps(PROFILE), EventType.LIFECYCLE)
        assert isinstance(parsed, LifecycleEvent)
        assert (parsed.kind.value, parsed.commitment_months, parsed.monthly_fee, parsed.bundled_services) == (
            "profile",
            24,
            39.5,
            2,
        )
        assert parsed.activation_time().isoformat() == "2021-03-01T09:30:00+08:00"

    def test_activation_at_the_event_time_is_accepted(self) -> None:
        """``activated_on`` may equal ``event_time`` (an activation sent as it happens)."""
        record = {**PROFILE, "kind": "activated", "activated_on": PROFILE["event_time"]}
        assert isinstance(parse_event(orjson.dumps(record), EventType.LIFECYCLE), LifecycleEvent)

    @pytest.mark.parametrize(
        ("changes", "message"),
        [
            (
                {"activated_on": "2026-05-10T11:00:00+08:00"},
                "activated_on='2026-05-10T11:00:00+08:00': must not be after event_time",
            ),
            (
                {"activated_on": "2021-03-01"},
                "activated_on='2021-03-01': must be RFC 3339 text with an offset",
            ),
            ({"activated_on": "2021-03-01T09:30:00"}, "activated_on='2021-03-01T09:30:00': must be RFC 3339"),
            (
                {"activated_on": "1969-07-20T20:17:00Z"},
                "activated_on='1969-07-20T20:17:00Z': must not be before 1970",
            ),
            ({"activated_on": 1614562200}, "activated_on=1614562200: Expected `str | null`, got `int`"),
            ({"commitment_months": 61}, "commitment_months=61: Expected `int` <= 60"),
            ({"commitment_months": -1}, "commitment_months=-1: Expected `int` >= 0"),
            ({"commitment_months": "24"}, "commitment_months='24': Expected `int | null`, got `str`"),
            ({"monthly_fee": -0.01}, "monthly_fee=-0.01: Expected `float` >= 0"),
            ({"monthly_fee": 100_000.5}, "monthly_fee=100000.5: Expected `float` <= 100000"),
            ({"bundled_services": 21}, "bundled_services=21: Expected `int` <= 20"),
            ({"bundled_services": 1.5}, "bundled_services=1.5: Expected `int | null`, got `float`"),
            ({"kind": "paused"}, "kind='paused': Invalid enum value 'paused'"),
        ],
    )
    def test_bad_profile_fact_is_dead_lettered_with_its_field(
        self, changes: dict[str, object], message: str
    ) -> None:
        """Every new lifecycle field is validated, and the reason names the field and its value."""
        record = orjson.dumps({**PROFILE, **changes})
        refused = rejection(record, EventType.LIFECYCLE)
        assert refused.reason is DeadLetterReason.INVALID_SCHEMA
        assert refused.detail.startswith(message), refused.detail
        assert parse_events([record], EventType.LIFECYCLE) == [refused]  # the batch path agrees


class TestSchemaExport:
    def test_committed_json_schemas_are_current(self) -> None:
        """schemas/json matches the models; run `make schemas` after changing a contract."""
        directory = Path(__file__).resolve().parents[2] / "schemas" / "json"
        committed = {path.name: path.read_text(encoding="utf-8") for path in directory.glob("*.json")}
        assert committed == schema_documents()
