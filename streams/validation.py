"""Record to event: contract validation and pseudonymisation, before anything is stored."""

from __future__ import annotations

from features.pseudonym import pseudonymise_call
from schemas.events import CallEvent, EventType, InputEvent
from schemas.parsing import Rejection, parse_event
from streams.settings import Settings


class RecordValidator:
    """Validates a record against its topic's contract; counterparties leave here pseudonymised."""

    def __init__(self, pseudonym_key: bytes, max_record_bytes: int) -> None:
        self._pseudonym_key = pseudonym_key
        self._max_record_bytes = max_record_bytes

    @classmethod
    def from_settings(cls, settings: Settings) -> RecordValidator:
        """The validator a worker uses: its pseudonymisation key and record size limit."""
        return cls(settings.pseudonym_key.get_secret_value().encode(), settings.batching.max_record_bytes)

    def validate(self, value: bytes | None, event_type: EventType) -> InputEvent | Rejection:
        parsed = parse_event(value, event_type, self._max_record_bytes)
        if isinstance(parsed, CallEvent):
            return pseudonymise_call(parsed, self._pseudonym_key)
        return parsed
