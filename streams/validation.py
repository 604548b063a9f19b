"""Record to event: contract validation, key and time sanity, pseudonymisation, before anything is stored."""

from __future__ import annotations

from collections.abc import Sequence

from features.pseudonym import pseudonymise_call
from schemas.events import CallEvent, EventType, InputEvent
from schemas.outputs import DeadLetterReason
from schemas.parsing import Rejection, parse_events
from streams.settings import Settings

KeyedValue = tuple[bytes | None, bytes | None]
"""A record's key and value, as read from its topic."""


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
        return self.validate_batch([(key, value)], event_type)[0]

    def validate_batch(
        self, records: Sequence[KeyedValue], event_type: EventType
    ) -> list[InputEvent | Rejection]:
        """Each record's event or rejection, in order: the batch of one topic decoded in one pass.

        >>> validator = RecordValidator(b"k", 65536)
        >>> good = (b'{"event_id":"e1","customer_id":"c1","event_time":"2026-01-01T10:00:00+08:00",'
        ...         b'"amount":50}')
        >>> [getattr(r, "reason", "ok") for r in validator.validate_batch([(b"c1", good), (b"c1", b"{")],
        ...                                                               EventType.TOPUP)]
        ['ok', <DeadLetterReason.NOT_JSON: 'not_json'>]
        """
        decoded = parse_events([value for _, value in records], event_type, self._max_record_bytes)
        checked: list[InputEvent | Rejection] = []
        for (key, _), parsed in zip(records, decoded, strict=True):
            if isinstance(parsed, Rejection):
                checked.append(parsed)
                continue
            if isinstance(parsed, CallEvent):
                parsed = pseudonymise_call(parsed, self._pseudonym_key)
            if not self._earliest_s <= parsed.event_time.timestamp() < self._latest_s:
                checked.append(
                    Rejection(
                        DeadLetterReason.IMPLAUSIBLE_TIME,
                        f"event_time={parsed.event_time.isoformat()}: outside the plausible range "
                        f"(CHURNWATCH_EVENT_TIME__EARLIEST / __LATEST)",
                        parsed,
                    )
                )
            elif key is None:
                checked.append(
                    Rejection(
                        DeadLetterReason.KEY_MISMATCH, "record has no key: it must be the customer_id", parsed
                    )
                )
            elif key != parsed.customer_id.encode():
                checked.append(
                    Rejection(
                        DeadLetterReason.KEY_MISMATCH,
                        f"record key ({len(key)} bytes) is not the customer_id: the input topics are "
                        f"partitioned by customer_id",
                        parsed,
                    )
                )
            else:
                checked.append(parsed)
        return checked
