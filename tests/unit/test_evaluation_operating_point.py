"""The operating point: precision by zone and the share of the base alerted per month."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from evaluation.measures.operating_point import active_between, month_starts, operating_point
from evaluation.measures.truth import AlertMark, TruthRow
from schemas.outputs import Zone

START = datetime(2025, 11, 3, tzinfo=UTC)
END = START + timedelta(days=120)


def at(day: float) -> datetime:
    return START + timedelta(days=day)


def row(
    customer_id: str,
    churn: datetime | None = None,
    reactivated: datetime | None = None,
    activated: datetime | None = None,
) -> TruthRow:
    return TruthRow(customer_id, "family", churn, None, (), "none", None, None, reactivated, activated)


class TestPrecisionByZone:
    def test_each_zone_counts_alerts_customers_and_first_alert_precision(self) -> None:
        """Red: A (churns 10 d later) and B (stays), B twice: 3 alerts, 2 customers, 50% at 30 d.
        Yellow: C churns 40 d after its alert: 0% at 30 d, 100% at 60 d."""
        rows = [row("A", at(30)), row("B"), row("C", at(50))]
        alerts = [
            AlertMark("A", at(20), Zone.RED),
            AlertMark("B", at(5), Zone.RED),
            AlertMark("B", at(15), Zone.RED),
            AlertMark("C", at(10), Zone.YELLOW),
        ]
        point = operating_point(rows, alerts, START, END)
        red, yellow = point.by_zone
        assert (red.zone, red.alerts, red.alerted_customers) == ("red", 3, 2)
        assert [p.precision for p in red.precision] == [0.5, 0.5]
        assert (yellow.zone, [p.precision for p in yellow.precision]) == ("yellow", [0.0, 1.0])

    def test_a_first_alert_too_late_to_judge_is_not_counted(self) -> None:
        """An alert 10 days before the end cannot be judged at 30 days."""
        point = operating_point([row("A")], [AlertMark("A", END - timedelta(days=10), Zone.RED)], START, END)
        assert point.by_zone[0].precision[0].judged_customers == 0
        assert point.by_zone[0].precision[0].precision is None

    def test_zones_other_than_yellow_and_red_are_shown_but_not_in_the_share(self) -> None:
        """A green alert appears in the zone table, but the customer is not counted as alerted."""
        point = operating_point([row("A"), row("B")], [AlertMark("A", at(3), Zone.GREEN)], START, END)
        assert [z.zone for z in point.by_zone] == ["green"]
        assert point.alerted_customers == 0
        assert point.alerted_share == 0.0

    def test_alerts_of_customers_not_in_the_truth_are_counted_apart(self) -> None:
        """An alert for X, unknown to the simulator's truth, is counted and left out."""
        point = operating_point([row("A")], [AlertMark("X", at(3), Zone.RED)], START, END)
        assert point.alerts_unknown_customer == 1
        assert point.by_zone == []


class TestMonthlyShare:
    def test_months_follow_the_calendar_and_clip_to_history(self) -> None:
        """History from 3 November for 120 days touches November to March; April's start closes March."""
        months = [m.strftime("%Y-%m") for m in month_starts(START, END)]
        assert months == ["2025-11", "2025-12", "2026-01", "2026-02", "2026-03", "2026-04"]
        point = operating_point([row("A")], [], START, END)
        assert [m.month for m in point.by_month] == months[:-1]

    def test_share_is_distinct_alerted_customers_over_customers_active_that_month(self) -> None:
        """Four customers; A churns 10 December; B alerted twice in November; A once in December."""
        rows = [row("A", datetime(2025, 12, 10, tzinfo=UTC)), row("B"), row("C"), row("D")]
        alerts = [
            AlertMark("B", datetime(2025, 11, 5, tzinfo=UTC), Zone.RED),
            AlertMark("B", datetime(2025, 11, 20, tzinfo=UTC), Zone.YELLOW),
            AlertMark("A", datetime(2025, 12, 1, tzinfo=UTC), Zone.RED),
        ]
        point = operating_point(rows, alerts, START, END)
        by_month = {m.month: (m.alerted_customers, m.active_customers, m.share) for m in point.by_month}
        assert by_month["2025-11"] == (1, 4, 0.25)
        assert by_month["2025-12"] == (1, 4, 0.25)
        assert by_month["2026-01"] == (0, 3, 0.0)
        assert point.alerted_share == pytest.approx(0.5)

    def test_a_customer_who_joins_later_is_active_only_from_then(self) -> None:
        """activated_on in January: not in November's or December's base."""
        late = row("L", activated=datetime(2026, 1, 15, tzinfo=UTC))
        assert not active_between(late, datetime(2025, 12, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))
        assert active_between(late, datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC))

    def test_a_reactivated_customer_is_active_again(self) -> None:
        """Churned in November, back in January: inactive in December, active in January."""
        back = row("R", datetime(2025, 11, 20, tzinfo=UTC), reactivated=datetime(2026, 1, 10, tzinfo=UTC))
        assert not active_between(back, datetime(2025, 12, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))
        assert active_between(back, datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC))

    def test_with_a_churn_list_scored_customers_absent_from_it_form_the_base(self) -> None:
        """Churn list of one; three other customers scored: a base of four."""
        point = operating_point(
            [row("A", at(40))],
            [AlertMark("B", at(3), Zone.RED)],
            START,
            END,
            absent_stayed=True,
            scored_customers=["B", "C", "D"],
        )
        assert point.customers == 4
        assert point.alerted_share == 0.25
