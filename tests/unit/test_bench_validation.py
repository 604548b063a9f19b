"""The validation benchmark: simulated records through the batch path and the pydantic one it replaced."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from msgspec import structs

from bench.validation import compare_validators, one_by_one, simulated_records
from schemas.events import EventType
from schemas.parsing import Rejection, parse_events
from streams.validation import KeyedValue, RecordValidator
from tests.fixtures.pydantic_contracts import LegacyRecordValidator, parse_event

KEY = b"bench-pseudonym-key"
MAX_RECORD_BYTES = 64 * 1024


class TestSimulatedRecords:
    def test_simulated_records_are_accepted_alike_by_both_paths(self) -> None:
        """Every record the benchmark times is a valid event for both paths, with the same values."""
        new, old = RecordValidator(KEY, MAX_RECORD_BYTES), LegacyRecordValidator(KEY, MAX_RECORD_BYTES)
        for event_type, records in simulated_records(customers=40, days=3).items():
            for record, parsed in zip(records, new.validate_batch(records, event_type), strict=True):
                before = old.validate(*record, event_type)
                assert not isinstance(parsed, Rejection), parsed
                assert not isinstance(before, Rejection), before
                assert structs.asdict(parsed) == before.model_dump()


@pytest.mark.slow
class TestValidationCost:
    def test_batch_validation_costs_a_fraction_of_the_pydantic_path(self) -> None:
        """make bench: µs per record of the pydantic path, the Structs one record at a time and the
        Structs per batch (and of the contract alone, without pseudonyms, time and key checks), on
        the same simulated records in this process; the batch path takes less than half the
        pydantic path's time."""
        new, old = RecordValidator(KEY, MAX_RECORD_BYTES), LegacyRecordValidator(KEY, MAX_RECORD_BYTES)

        def contract_only(batch: Sequence[KeyedValue], event_type: EventType) -> Sequence[object]:
            return parse_events([value for _, value in batch], event_type, MAX_RECORD_BYTES)

        numbers = compare_validators(
            {
                "pydantic, per record": one_by_one(old.validate),
                "msgspec, per record": one_by_one(new.validate),
                "msgspec, per batch": new.validate_batch,
                "contract only, pydantic": one_by_one(
                    lambda _, value, event_type: parse_event(value, event_type)
                ),
                "contract only, msgspec per batch": contract_only,
            },
            simulated_records(),
        )
        for name, microseconds in numbers.items():
            print(f"validation {name}: {microseconds:.2f} µs per record")
        assert numbers["msgspec, per batch"] < 0.5 * numbers["pydantic, per record"]
