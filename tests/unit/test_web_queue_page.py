"""The retention queue page without a broker or Redis: access, ranking, filters, rendering, outcomes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from policy.config import PolicyConfig
from policy.contact_outcomes import ContactOutcome, RecordedOutcome, suppression_for
from policy.risk_list import risk_list
from policy.suppression import SuppressionReason
from schemas.outputs import (
    Alert,
    Prediction,
    Reason,
    RecommendedAction,
    ScoreSource,
    ValueTier,
    Zone,
)
from store.queue import ScorePoint
from web.access import Credentials, QueueAccess, Verdict, exposure_problem
from web.errors import OutcomeRequestError
from web.outcome_request import parse_outcome_request
from web.queue_view import QueueFilter, ranked, render_customer, render_queue, score_chart

TOKEN = SecretStr("s3cret-token-for-tests")
DAY = 20513  # 2026-03-01
T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)


def alert(
    customer_id: str,
    priority: float,
    zone: Zone = Zone.YELLOW,
    tier: ValueTier = ValueTier.MEDIUM,
    reasons: tuple[str, ...] = ("usage_decline",),
    at: datetime = T0,
) -> Alert:
    return Alert(
        alert_id=f"a-{customer_id}-{at.timestamp():.0f}",
        customer_id=customer_id,
        event_time=at,
        created_at=at,
        score=0.5,
        zone=zone,
        previous_zone=Zone.GREEN,
        value_tier=tier,
        value_at_risk=priority,
        priority=priority,
        reasons=tuple(Reason(code=code, text=f"{code} text", weight=1.0) for code in reasons),
        recommended_action=RecommendedAction(code="call", text="call them", channel="phone"),
        model_version="v1",
        score_source=ScoreSource.COLD_START_RULES,
    )


def rows_of(html: str) -> list[str]:
    return re.findall(r'<tr data-customer="([^"]*)"', html)


def browser(
    cookie: str | None = None, csrf: str | None = None, host: str = "churn.example:6066"
) -> Credentials:
    return Credentials(authorization=None, cookie=cookie, host=host, csrf=csrf)


class TestExposure:
    def test_a_non_loopback_bind_without_a_token_is_refused(self) -> None:
        """The worker must not serve customers on every interface without a token."""
        assert exposure_problem("0.0.0.0", None) is not None
        assert exposure_problem("10.1.2.3", SecretStr("")) is not None

    def test_loopback_or_a_token_is_enough(self) -> None:
        """Loopback needs no token; any interface with one is fine."""
        assert exposure_problem("127.0.0.1", None) is None
        assert exposure_problem("::1", None) is None
        assert exposure_problem("0.0.0.0", TOKEN) is None


class TestQueueAccess:
    def test_reading_without_a_token_is_refused(self) -> None:
        """No cookie and no header: refused as having no token."""
        assert QueueAccess(TOKEN).read(browser()) is Verdict.NO_TOKEN

    def test_a_wrong_bearer_token_or_cookie_is_refused(self) -> None:
        """Anything but the token (or its session value) is a wrong token."""
        access = QueueAccess(TOKEN)
        wrong = Credentials(authorization="Bearer nope", cookie=None, host="h")
        assert access.read(wrong) is Verdict.WRONG_TOKEN
        assert access.read(browser(cookie=TOKEN.get_secret_value())) is Verdict.WRONG_TOKEN

    def test_the_bearer_token_or_the_session_cookie_reads(self) -> None:
        """A script's header and a signed-in browser's cookie both read."""
        access = QueueAccess(TOKEN)
        header = Credentials(authorization=f"Bearer {TOKEN.get_secret_value()}", cookie=None, host="h")
        assert access.read(header) is Verdict.ALLOWED
        assert access.read(browser(cookie=access.session_value)) is Verdict.ALLOWED

    def test_the_session_cookie_does_not_carry_the_token(self) -> None:
        """The cookie is derived from the token, HttpOnly and same-site only."""
        access = QueueAccess(TOKEN)
        cookie = access.session_cookie(secure=True)
        assert TOKEN.get_secret_value() not in cookie
        assert "HttpOnly" in cookie
        assert "SameSite=Strict" in cookie
        assert "Secure" in cookie

    def test_a_browser_write_needs_the_csrf_value(self) -> None:
        """The ambient cookie alone cannot record an outcome; with the page's CSRF value it can."""
        access = QueueAccess(TOKEN)
        assert access.write(browser(cookie=access.session_value)) is Verdict.NO_CSRF
        assert access.write(browser(cookie=access.session_value, csrf="guess")) is Verdict.NO_CSRF
        signed = browser(cookie=access.session_value, csrf=access.csrf_value)
        assert access.write(signed) is Verdict.ALLOWED

    def test_a_script_with_the_bearer_token_writes_without_csrf(self) -> None:
        """The token in a header is not ambient: no CSRF value needed."""
        access = QueueAccess(TOKEN)
        header = Credentials(authorization=f"Bearer {TOKEN.get_secret_value()}", cookie=None, host="h")
        assert access.write(header) is Verdict.ALLOWED

    def test_without_a_token_only_loopback_host_names_are_served(self) -> None:
        """An open page answers 127.0.0.1 and localhost, not a name rebound to them."""
        access = QueueAccess(None)
        assert access.read(browser(host="127.0.0.1:6066")) is Verdict.ALLOWED
        assert access.read(browser(host="localhost:6066")) is Verdict.ALLOWED
        assert access.read(browser(host="evil.example:6066")) is Verdict.NOT_LOOPBACK

    def test_without_a_token_nothing_signs_in(self) -> None:
        """No configured token: no submitted value matches, not even the empty one."""
        assert not QueueAccess(None).token_matches("")


class TestQueueRendering:
    def test_rows_are_ranked_by_priority_then_customer(self) -> None:
        """Highest priority first; equal priorities by customer id."""
        alerts = [alert("b", 5.0), alert("a", 9.0), alert("c", 5.0)]
        assert [a.customer_id for a in ranked(alerts)] == ["a", "b", "c"]
        assert rows_of(render_queue(DAY, alerts, QueueFilter(), {}, {})) == ["a", "b", "c"]

    def test_filters_keep_one_zone_tier_or_reason(self) -> None:
        """Each filter keeps only the alerts that match it; together they all must match."""
        alerts = [
            alert("r", 3.0, zone=Zone.RED, tier=ValueTier.KEY, reasons=("topup_lapse",)),
            alert("y", 2.0, zone=Zone.YELLOW, tier=ValueTier.KEY, reasons=("usage_decline", "topup_lapse")),
            alert("l", 1.0, zone=Zone.RED, tier=ValueTier.LOW, reasons=("usage_decline",)),
        ]

        def shown(chosen: QueueFilter) -> list[str]:
            return rows_of(render_queue(DAY, alerts, chosen, {}, {}))

        assert shown(QueueFilter(zone="red")) == ["r", "l"]
        assert shown(QueueFilter(tier="key")) == ["r", "y"]
        assert shown(QueueFilter(reason="topup_lapse")) == ["r", "y"]
        assert shown(QueueFilter(zone="red", reason="usage_decline")) == ["l"]

    def test_unknown_filter_values_from_the_query_are_ignored(self) -> None:
        """A zone or tier that does not exist filters nothing out."""
        assert QueueFilter.from_query({"zone": "purple", "tier": "gold"}) == QueueFilter()

    def test_customer_ids_and_reasons_are_escaped(self) -> None:
        """Values from the stream never become markup."""
        hostile = alert("<script>x</script>", 1.0)
        html = render_queue(DAY, [hostile], QueueFilter(), {}, {})
        assert "<script>x" not in html
        assert "&lt;script&gt;x&lt;/script&gt;" in html

    def test_latest_outcome_and_suppression_are_shown(self) -> None:
        """The team sees who was handled already."""
        recorded = RecordedOutcome("a", ContactOutcome.DECLINED, T0)
        html = render_queue(
            DAY, [alert("a", 1.0)], QueueFilter(), {"a": recorded}, {"a": SuppressionReason.HANDLED}
        )
        assert "outcome-declined" in html
        assert 'class="held">handled' in html

    def test_before_any_event_the_page_says_so(self) -> None:
        """No event-time day reached yet: no table, a sentence."""
        assert "No event processed yet" in render_queue(None, [], QueueFilter(), {}, {})


class TestCustomerPage:
    def test_the_chart_draws_every_score_and_marks_every_alert(self) -> None:
        """One dot per kept score, one marker per alert, inline SVG only."""
        points = [ScorePoint(DAY - 6, 0.1), ScorePoint(DAY - 3, 0.3), ScorePoint(DAY, 0.6)]
        alerts = [alert("a", 2.0, at=T0 - timedelta(days=3)), alert("a", 3.0, zone=Zone.RED)]
        svg = score_chart(points, alerts, 0.2, 0.45)
        assert svg.count("<circle") == 3
        assert svg.count('class="alert-mark"') == 2
        assert "href" not in svg

    def test_the_page_carries_the_csrf_value_and_every_outcome_button(self) -> None:
        """The script reads the CSRF value from the page; one button per outcome."""
        html = render_customer(
            "a", [ScorePoint(DAY, 0.4)], [alert("a", 1.0)], [], None, "csrf-123", 0.2, 0.45
        )
        assert '<meta name="csrf-token" content="csrf-123">' in html
        for outcome in ContactOutcome:
            assert f'data-outcome="{outcome.value}"' in html
        assert 'data-alert="a-a-' in html


class TestOutcomeRequest:
    def test_a_valid_request_becomes_a_recorded_outcome(self) -> None:
        """Customer, outcome, alert and a trimmed note; the time is the recording's."""
        recorded = parse_outcome_request(
            {"customer_id": "c1", "outcome": "do_not_contact", "alert_id": "a1", "note": " asked "}, T0
        )
        assert recorded == RecordedOutcome("c1", ContactOutcome.DO_NOT_CONTACT, T0, "a1", "asked")

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ([], "body"),
            ({"outcome": "reached"}, "customer_id"),
            ({"customer_id": "x" * 65, "outcome": "reached"}, "customer_id"),
            ({"customer_id": "c1", "outcome": "won"}, "outcome"),
            ({"customer_id": "c1", "outcome": "reached", "note": "n" * 201}, "note"),
            ({"customer_id": "c1", "outcome": "reached", "alert_id": 5}, "alert_id"),
        ],
    )
    def test_a_malformed_request_names_its_field(self, body: object, field: str) -> None:
        """Each broken field is reported by name."""
        with pytest.raises(OutcomeRequestError) as raised:
            parse_outcome_request(body, T0)
        assert raised.value.field == field

    def test_do_not_contact_suppresses_and_the_others_do_not(self) -> None:
        """Only "do not contact" holds the customer's alerts back."""
        held = [o for o in ContactOutcome if suppression_for(RecordedOutcome("c", o, T0)) is not None]
        assert held == [ContactOutcome.DO_NOT_CONTACT]


class TestRiskListOutcomes:
    def test_the_export_rows_carry_the_latest_outcome(self) -> None:
        """Outcome, when it was recorded and the alert it answered; empty for the others."""
        snapshot = Prediction(
            snapshot_id="s",
            customer_id="c1",
            event_time=T0,
            features={"revenue_90d": 50.0, "history_days": 60.0},
            score=0.5,
            model_version="v1",
            score_source=ScoreSource.ONLINE_MODEL,
        )
        other = snapshot.model_copy(update={"customer_id": "c2", "snapshot_id": "s2"})
        recorded = RecordedOutcome("c1", ContactOutcome.OFFER_ACCEPTED, T0, "a1")
        rows = {
            row.customer_id: row
            for row in risk_list([snapshot, other], [], {}, PolicyConfig(), {"c1": recorded})
        }
        assert (rows["c1"].outcome, rows["c1"].outcome_at, rows["c1"].outcome_alert_id) == (
            "offer_accepted",
            T0.isoformat(),
            "a1",
        )
        assert (rows["c2"].outcome, rows["c2"].outcome_at) == ("", "")
