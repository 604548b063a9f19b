"""The publisher's cheaper building blocks give exactly what the slower ones gave.

The flat records' JSON must be the bytes pydantic wrote (and read back by the same
contracts), and snapshot rounding must keep the values ``float(f"{value:.6g}")`` gave.
"""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, date, datetime, timedelta, timezone

from features.vector import FeatureVector
from models.scorer import Score
from pipeline.processor import prediction, significant
from schemas.event_days import day_end
from schemas.outputs import (
    DeadLetter,
    DeadLetterReason,
    Prediction,
    ResolvedDay,
    ScoreSource,
    TrainingExample,
)
from streams.publisher import encoded, encoded_flat

AWKWARD_FLOATS = [
    1e-7, 1.5e-5, 0.1 + 0.2, 1 / 3, 2.0, 28.0, 999999.0, 1e6, 1234567.0, 1e15, 1e16, 1.7976931348623157e308,
    5e-324, -0.5, -123.456, 123456.5, 0.000123456789, 9.999995, 99999.95,
]  # fmt: skip


def awkward_values(rng: random.Random, count: int) -> list[float]:
    """Floats over many magnitudes and signs, whole numbers near the 6-digit edge, and fixed oddities."""
    values = list(AWKWARD_FLOATS)
    for _ in range(count):
        draw = rng.random()
        if draw < 0.2:
            values.append(float(rng.randint(-2_000_000, 2_000_000)))
        else:
            values.append(rng.choice((1, -1)) * 10 ** rng.uniform(-12, 18))
    return values


class TestFlatEncoding:
    def predictions(self) -> list[Prediction]:
        rng = random.Random(11)
        values = awkward_values(rng, 400)
        records = []
        for index in range(0, len(values), 7):
            features = {f"f{n}": value for n, value in enumerate(values[index : index + 7])}
            records.append(
                Prediction(
                    snapshot_id=f"s{index}",
                    customer_id=f"C{index:07d}",
                    event_time=day_end(20454 + index),
                    features=features,
                    score=rng.random(),
                    model_version="online-3",
                    score_source=ScoreSource.ONLINE_MODEL if index % 2 else ScoreSource.COLD_START_RULES,
                    silent_days=index % 30,
                )
            )
        return records

    def training(self) -> list[TrainingExample | ResolvedDay]:
        records: list[TrainingExample | ResolvedDay] = []
        for index, p in enumerate(self.predictions()):
            other_zone = timezone(timedelta(hours=2))
            records.append(
                TrainingExample(
                    example_id=p.snapshot_id,
                    customer_id=p.customer_id,
                    partition=index % 4,
                    snapshot_time=p.event_time if index % 3 else p.event_time.astimezone(other_zone),
                    resolved_on=date(2026, 1, 1) + timedelta(days=index),
                    churned=index % 5 == 0,
                    churn_time=None if index % 5 else datetime(2026, 2, 1, 12, 0, tzinfo=UTC),
                    features=p.features,
                    score=p.score,
                    score_source=p.score_source,
                    model_version=p.model_version,
                    model_score=1.0 - p.score,
                    rules_score=0.0,
                    silent_days=p.silent_days,
                    weight=1.0 + index / 7,
                )
            )
            records.append(ResolvedDay(partition=index % 4, resolved_on=date(2026, 3, 1), examples=index))
        return records

    def test_bytes_equal_what_pydantic_writes(self) -> None:
        records = [*self.predictions(), *self.training()]
        differing = [r for r in records if encoded_flat(r) != r.model_dump_json().encode()]
        assert not differing, differing[0].model_dump_json()

    def test_the_output_contracts_read_them_back_unchanged(self) -> None:
        for p in self.predictions():
            assert Prediction.model_validate_json(encoded_flat(p)) == p
        for record in self.training():
            assert type(record).model_validate_json(encoded_flat(record)) == record

    def test_nested_records_use_pydantic_bytes(self) -> None:
        letter = DeadLetter(
            reason=DeadLetterReason.NOT_JSON,
            detail="not JSON",
            source_topic="telco.calls",
            source_partition=1,
            source_offset=7,
            original_key_b64=None,
            original_value_b64="eHk=",
            original_size=2,
            rejected_at=datetime(2026, 1, 1, tzinfo=UTC),
        )
        assert encoded(letter) == letter.model_dump_json().encode()


class TestSnapshotRounding:
    def test_significant_equals_six_digit_formatting(self) -> None:
        values = awkward_values(random.Random(5), 50_000)
        differing = [v for v in values if significant(v) != float(f"{v:.6g}")]
        assert not differing

    def test_snapshot_json_is_what_the_f_string_rounding_gave(self) -> None:
        rng = random.Random(9)
        empty = FeatureVector.empty("c", day_end(20454))
        names = [f.name for f in dataclasses.fields(FeatureVector) if f.type in ("float", "float | None")]
        score = Score(0.4321, (), ScoreSource.ONLINE_MODEL, "online-3")
        for index in range(200):
            values = dict(zip(names, awkward_values(rng, len(names))[-len(names) :], strict=True))
            values["days_since_last_topup"] = None if index % 3 == 0 else abs(values["days_since_last_topup"])
            vector = dataclasses.replace(empty, customer_id=f"C{index}", **values)
            built = prediction(vector, score, 20454, 0)
            expected = {n: float(f"{v:.6g}") for n, v in vector.numeric().items() if v}
            assert built.features == expected
            assert (
                encoded_flat(built)
                == built.model_copy(update={"features": expected}).model_dump_json().encode()
            )
