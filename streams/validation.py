"""Record to event: contract validation, key and time sanity, pseudonymisation, before anything is stored."""

from __future__ import annotations

from features.pseudonym import pseudonymise_call
from schemas.events import CallEvent, EventType, InputEvent
from schemas.outputs import DeadLetterReason
from schemas.parsing import Rejection, parse_event
from streams.settings import Settings


class RecordValidator:
    """Validates a record against its topic's contract; counterparties leave here pseudonymised.

    Beyond the contract: the record key must be the event's ``customer_id`` (the input
    topics are co-partitioned by it), and the event time must lie within the plausible
    range, so no later date arithmetic can overflow and no absurd time reaches a clock.
    """

    def __init__(
        self,
        pseudonym_key: bytes,
        max_record_bytes: int,
        earliest_s: float = 946_684_800.0,
        latest_s: float = 4_102_444_800.0,
    ) -> None:
        self._pseudonym_key = pseudonym_key
        self._max_record_bytes = max_record_bytes
        self._earliest_s = earliest_s
        self._latest_s = latest_s

    @classmethod
    def from_settings(cls, settings: Settings) -> RecordValidator:
        """The validator a worker uses: its pseudonymisation key, size limit and plausible times."""
        return cls(
            settings.pseudonym_key.get_secret_value().encode(),
            settings.batching.max_record_bytes,
            settings.event_time.earliest.timestamp(),
            settings.event_time.latest.timestamp(),
        )

    def validate(
        self, key: bytes | None, value: bytes | None, event_type: EventType
    ) -> InputEvent | Rejection:
        """The event, or why the record is refused; never raises for bad input.

        >>> validator = RecordValidator(b"k", 65536)
        >>> good = (b'{"event_id":"e1","customer_id":"c1","event_time":"2026-01-01T10:00:00+08:00",'
        ...         b'"amount":50}')
        >>> validator.validate(b"c1", good, EventType.TOPUP).amount
        50.0
        >>> validator.validate(b"c2", good, EventType.TOPUP).reason
        <DeadLetterReason.KEY_MISMATCH: 'key_mismatch'>
        >>> validator.validate(b"c1", good.replace(b"2026", b"9999"), EventType.TOPUP).reason
        <DeadLetterReason.IMPLAUSIBLE_TIME: 'implausible_time'>
        """
        parsed = parse_event(value, event_type, self._max_record_bytes)
        if isinstance(parsed, Rejection):
            return parsed
        if isinstance(parsed, CallEvent):
            parsed = pseudonymise_call(parsed, self._pseudonym_key)
        event_time_s = parsed.event_time.timestamp()
        if not self._earliest_s <= event_time_s < self._latest_s:
            return Rejection(
                DeadLetterReason.IMPLAUSIBLE_TIME,
                f"event_time={parsed.event_time.isoformat()}: outside the plausible range "
                f"(CHURNWATCH_EVENT_TIME__EARLIEST / __LATEST)",
                parsed,
            )
        if key is None:
            return Rejection(
                DeadLetterReason.KEY_MISMATCH, "record has no key: it must be the customer_id", parsed
            )
        if key != parsed.customer_id.encode():
            return Rejection(
                DeadLetterReason.KEY_MISMATCH,
                f"record key ({len(key)} bytes) is not the customer_id: the input topics are "
                f"partitioned by customer_id",
                parsed,
            )
        return parsed
