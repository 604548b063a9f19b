"""The current risk list: every scored customer's latest snapshot, ranked as the policy ranks alerts.

What the retention team exports to plan a campaign (``churnwatch scores export``): per
customer the latest score and where it puts them (zone, value tier, value at risk,
priority, by the same functions as the alerts), the reasons and action of their latest
alert if they had one, whether they are suppressed, and the outcome of the team's latest
contact recorded on the retention queue page.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from policy.alerts import priority
from policy.config import PolicyConfig
from policy.contact_outcomes import RecordedOutcome
from policy.suppression import SuppressionReason
from policy.value_tiers import expected_revenue, value_tier
from policy.zones import zone_of
from schemas.outputs import Alert, Prediction


@dataclass(frozen=True, slots=True)
class RiskRow:
    """One customer on the risk list (empty strings where there is no alert, suppression or outcome).

    ``outcome_at`` is the wall-clock time the outcome was recorded (ISO 8601).
    """

    customer_id: str
    as_of: datetime
    score: float
    zone: str
    value_tier: str
    value_at_risk: float
    priority: float
    score_source: str
    model_version: str
    silent_days: int
    last_alert_at: str
    last_alert_zone: str
    reasons: str
    action: str
    suppressed: str
    outcome: str
    outcome_at: str
    outcome_alert_id: str


def risk_list(
    predictions: Iterable[Prediction],
    alerts: Iterable[Alert],
    suppressed: Mapping[str, SuppressionReason],
    config: PolicyConfig,
    outcomes: Mapping[str, RecordedOutcome] | None = None,
) -> list[RiskRow]:
    """Latest snapshot per customer, highest priority first (ties by customer id)."""
    latest: dict[str, Prediction] = {}
    for prediction in predictions:
        held = latest.get(prediction.customer_id)
        if held is None or (prediction.event_time, prediction.snapshot_id) > (
            held.event_time,
            held.snapshot_id,
        ):
            latest[prediction.customer_id] = prediction
    last_alert: dict[str, Alert] = {}
    for alert in alerts:
        held_alert = last_alert.get(alert.customer_id)
        if held_alert is None or (alert.event_time, alert.alert_id) > (
            held_alert.event_time,
            held_alert.alert_id,
        ):
            last_alert[alert.customer_id] = alert
    recorded = outcomes or {}
    rows = [
        _row(
            p,
            last_alert.get(p.customer_id),
            suppressed.get(p.customer_id),
            recorded.get(p.customer_id),
            config,
        )
        for p in latest.values()
    ]
    return sorted(rows, key=lambda row: (-row.priority, row.customer_id))


def _row(
    prediction: Prediction,
    alert: Alert | None,
    suppression: SuppressionReason | None,
    outcome: RecordedOutcome | None,
    config: PolicyConfig,
) -> RiskRow:
    revenue = prediction.features.get("revenue_90d", 0.0)
    at_risk = round(prediction.score * expected_revenue(revenue, config), 2)
    return RiskRow(
        customer_id=prediction.customer_id,
        as_of=prediction.event_time,
        score=prediction.score,
        zone=zone_of(prediction.score, prediction.features.get("history_days", 0.0), config).value,
        value_tier=value_tier(revenue, config).value,
        value_at_risk=at_risk,
        priority=priority(at_risk, prediction.score),
        score_source=prediction.score_source.value,
        model_version=prediction.model_version,
        silent_days=prediction.silent_days,
        last_alert_at="" if alert is None else alert.event_time.isoformat(),
        last_alert_zone="" if alert is None else alert.zone.value,
        reasons="" if alert is None else "; ".join(reason.text for reason in alert.reasons),
        action="" if alert is None else alert.recommended_action.text,
        suppressed="" if suppression is None else suppression.value,
        outcome="" if outcome is None else outcome.outcome.value,
        outcome_at="" if outcome is None else outcome.recorded_at.isoformat(),
        outcome_alert_id="" if outcome is None else outcome.alert_id,
    )
