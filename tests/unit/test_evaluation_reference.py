"""The batch reference: behaviour columns from event files, customer attributes, out-of-fold boosting."""

from __future__ import annotations

import csv
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import orjson
import pytest

from evaluation.loading.events import event_files, read_event_columns
from evaluation.measures.behaviour import BEHAVIOUR_NAMES, behaviour_matrix, customer_numbers
from evaluation.measures.decision import roc_auc
from evaluation.measures.reference import CustomerTable, attribute_matrix, reference_scores

START = datetime(2025, 11, 3, tzinfo=UTC)
D = START + timedelta(days=100)


def call(customer_id: str, moment: datetime, duration_s: float = 60.0, **extra: object) -> dict[str, object]:
    return {
        "type": "call",
        "event_id": f"{customer_id}-{moment.timestamp()}-{random.random()}",
        "customer_id": customer_id,
        "event_time": moment.isoformat().replace("+00:00", "Z"),
        "direction": "outgoing",
        "duration_s": duration_s,
        "counterparty": "x",
        **extra,
    }


def write_lines(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r, option=orjson.OPT_APPEND_NEWLINE) for r in records))
    return path


def features(matrix: np.ndarray, row: int) -> dict[str, float]:
    return dict(zip(BEHAVIOUR_NAMES, matrix[row].tolist(), strict=True))


class TestEventColumns:
    def test_events_are_kept_only_inside_a_decision_dates_window(self, tmp_path: Path) -> None:
        """With one date, events at D - 91 d and at D itself are outside; D - 90 d and D - 1 s are in."""
        path = write_lines(
            tmp_path / "events.jsonl",
            [
                call("A", D - timedelta(days=91)),
                call("A", D - timedelta(days=90)),
                call("A", D - timedelta(seconds=1)),
                call("A", D),
            ],
        )
        columns = read_event_columns([path], {"A": 0}, [D])
        assert columns.events == 2
        assert columns.outside_windows == 2

    def test_lifecycle_unknown_customers_and_bad_lines_are_counted_not_kept(self, tmp_path: Path) -> None:
        """A lifecycle record, a customer outside the table, a line that is not JSON and one
        without its duration are each counted once."""
        lifecycle = {"type": "lifecycle", "customer_id": "A", "event_time": "2026-01-01T00:00:00Z"}
        broken = call("A", D - timedelta(days=2))
        del broken["duration_s"]
        path = tmp_path / "events.jsonl"
        write_lines(
            path, [lifecycle, call("Z", D - timedelta(days=1)), broken, call("A", D - timedelta(days=3))]
        )
        with path.open("ab") as handle:
            handle.write(b"{not json\n")
        columns = read_event_columns([path], {"A": 0}, [D])
        assert (columns.events, columns.other_events, columns.unknown_customer, columns.unreadable) == (
            1,
            1,
            1,
            2,
        )

    def test_a_directory_gives_its_json_lines_files_in_name_order(self, tmp_path: Path) -> None:
        """truth.csv is not an event file; b.jsonl follows a.jsonl."""
        for name in ("b.jsonl", "a.jsonl", "truth.csv"):
            (tmp_path / name).write_text("")
        assert [p.name for p in event_files(tmp_path)] == ["a.jsonl", "b.jsonl"]


class TestBehaviourMatrix:
    def test_windows_split_the_last_30_days_from_the_previous_60(self, tmp_path: Path) -> None:
        """Calls 10 and 50 days before D: two in 90 days, one in 30, daily rate 1/30 over 1/60."""
        path = write_lines(
            tmp_path / "e.jsonl",
            [call("A", D - timedelta(days=10), 120.0), call("A", D - timedelta(days=50), 60.0)],
        )
        m = features(behaviour_matrix(read_event_columns([path], {"A": 0}, [D]), 1, D), 0)
        assert m["calls_out_90d"] == 2.0
        assert m["calls_out_30d"] == 1.0
        assert m["call_out_minutes_90d"] == 3.0
        assert m["calls_out_change_30d_vs_60d"] == pytest.approx(2.0)
        assert m["days_since_last_event"] == pytest.approx(10.0)

    def test_call_flags_top_ups_and_complaints_land_in_their_columns(self, tmp_path: Path) -> None:
        """A dropped roaming international call, an off-net call, a top-up and a price complaint."""
        records = [
            call(
                "A",
                D - timedelta(days=1),
                120.0,
                dropped=True,
                roaming=True,
                counterparty_network="international",
            ),
            call("A", D - timedelta(days=2), 60.0, counterparty_network="off_net", charge=0.25),
            {
                "type": "topup",
                "customer_id": "A",
                "event_time": (D - timedelta(days=4)).isoformat(),
                "amount": 10.0,
            },
            {
                "type": "complaint",
                "customer_id": "A",
                "event_time": (D - timedelta(days=40)).isoformat(),
                "category": "price",
                "severity": 3,
            },
        ]
        m = features(
            behaviour_matrix(
                read_event_columns([write_lines(tmp_path / "e.jsonl", records)], {"A": 0}, [D]), 1, D
            ),
            0,
        )
        assert (m["dropped_calls_90d"], m["international_minutes_90d"], m["roaming_minutes_90d"]) == (
            1.0,
            2.0,
            2.0,
        )
        assert m["off_net_minutes_90d"] == 1.0
        assert m["call_charge_90d"] == 0.25
        assert (m["topups_90d"], m["topup_amount_90d"], m["days_since_last_topup"]) == (1.0, 10.0, 4.0)
        assert m["complaints_price_90d"] == 1.0
        assert m["complaints_30d"] == 0.0

    def test_one_read_serves_several_decision_dates(self, tmp_path: Path) -> None:
        """A call 5 days before the first date is 35 days before the second: 30-day count 1 then 0."""
        first, second = D - timedelta(days=30), D
        path = write_lines(tmp_path / "e.jsonl", [call("A", first - timedelta(days=5))])
        columns = read_event_columns([path], {"A": 0}, [first, second])
        assert features(behaviour_matrix(columns, 1, first), 0)["calls_out_30d"] == 1.0
        assert features(behaviour_matrix(columns, 1, second), 0)["calls_out_30d"] == 0.0


class TestAttributes:
    def test_an_older_truth_file_without_contract_columns_is_read(self) -> None:
        """Only segment, payment type, plan, area, tenure_years and monthly_value: those become inputs."""
        table = CustomerTable(
            ["A"],
            {
                "segment": ["family"],
                "payment_type": ["prepaid"],
                "plan": ["basic"],
                "area": ["3"],
                "tenure_years": ["2.0"],
                "monthly_value": ["12.5"],
                "churns": ["1"],
                "strength": ["0.9"],
            },
        )
        m = attribute_matrix(table, START + timedelta(days=10), START)
        assert m.names == ["segment", "payment_type", "plan", "area", "tenure_days", "monthly_value"]
        assert m.values[0, 4] == pytest.approx(2 * 365.25 + 10)

    def test_the_new_truth_columns_become_inputs_and_fate_columns_never_do(self) -> None:
        """activated_on sets tenure; commitment, fee, bundles and channel are read; no_warning and
        attribute_hazard are not."""
        table = CustomerTable(
            ["A", "B"],
            {
                "segment": ["family", "business"],
                "activated_on": ["2025-11-13T00:00:00Z", "2020-01-01T00:00:00+00:00"],
                "tenure_years": ["0.0", "5.8"],
                "commitment_months": ["24", "0"],
                "monthly_fee": ["30", ""],
                "bundled_services": ["2", "0"],
                "topup_channel": ["app", "retail"],
                "no_warning": ["1", "0"],
                "attribute_hazard": ["2.5", "0.7"],
            },
        )
        m = attribute_matrix(table, START + timedelta(days=20), START)
        assert m.names == [
            "segment",
            "topup_channel",
            "tenure_days",
            "commitment_months",
            "monthly_fee",
            "bundled_services",
        ]
        assert m.values[0, 2] == pytest.approx(10.0)
        assert np.isnan(m.values[1, 4])


def synthetic_population(directory: Path, customers: int = 400, seed: int = 3) -> tuple[Path, list[bool]]:
    """Customers calling daily for 100 days; those who churn in the 30 days after D stop
    calling 20 days before D. Returns the events file and each customer's label."""
    rng = random.Random(seed)
    records: list[dict[str, object]] = []
    labels = []
    for index in range(customers):
        customer_id = f"C{index:04d}"
        churner = rng.random() < 0.25
        labels.append(churner)
        for day in range(100):
            if churner and day >= 80:
                continue
            if rng.random() < 0.8:
                moment = START + timedelta(days=day, hours=rng.uniform(8, 20))
                records.append(call(customer_id, moment, rng.uniform(30, 300)))
    return write_lines(directory / "events.jsonl", records), labels


def plain_table(customers: int) -> CustomerTable:
    ids = [f"C{index:04d}" for index in range(customers)]
    return CustomerTable(ids, {"segment": ["s" if i % 2 else "t" for i in range(customers)]})


class TestReferenceFit:
    def test_a_learnable_signal_gives_a_high_out_of_fold_auc(self, tmp_path: Path) -> None:
        """Churners fall silent 20 days before D: the reference ranks them first (AUC > 0.9)."""
        _path, labels = synthetic_population(tmp_path)
        table = plain_table(len(labels))
        numbers = customer_numbers(table.customer_ids)
        columns = read_event_columns(event_files(tmp_path), numbers, [D])
        fit = reference_scores(table, columns, numbers, table.customer_ids, labels, D, START)
        auc = roc_auc(fit.scores, labels)
        assert auc is not None
        assert auc > 0.9
        assert fit.folds == 5
        assert len(fit.scores) == len(labels)

    def test_the_same_table_gives_the_same_scores(self, tmp_path: Path) -> None:
        """Two fits on the same inputs return identical scores."""
        _, labels = synthetic_population(tmp_path, customers=200)
        table = plain_table(len(labels))
        numbers = customer_numbers(table.customer_ids)
        columns = read_event_columns(event_files(tmp_path), numbers, [D])
        first = reference_scores(table, columns, numbers, table.customer_ids, labels, D, START)
        second = reference_scores(table, columns, numbers, table.customer_ids, labels, D, START)
        assert first.scores == second.scores

    def test_only_the_requested_customers_are_fitted_and_scored(self, tmp_path: Path) -> None:
        """Scores come back for the rows asked, in the order asked."""
        _, labels = synthetic_population(tmp_path, customers=120)
        table = plain_table(len(labels))
        numbers = customer_numbers(table.customer_ids)
        columns = read_event_columns(event_files(tmp_path), numbers, [D])
        chosen = list(reversed(table.customer_ids[:100]))
        chosen_labels = [labels[numbers[c]] for c in chosen]
        fit = reference_scores(table, columns, numbers, chosen, chosen_labels, D, START)
        assert len(fit.scores) == 100


def write_truth(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path
