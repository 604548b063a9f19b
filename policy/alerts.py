"""The alert decision: which scored snapshot becomes a retention alert, and with what.

DESIGN "Alert policy": alert in the alert zones (yellow and red by default); alert the
same customer again only when the zone rises above the last alerted zone or the
cooldown (event time) has passed; never for churned customers or the white zone.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from features.vector import FeatureVector
from models.scorer import Score
from policy.alert_state import AlertState
from policy.config import PolicyConfig
from policy.playbook import Playbook
from policy.suppression import SuppressionReason
from policy.value_tiers import expected_revenue, value_tier
from policy.zones import zone_for
from schemas.outputs import Alert, Zone

ALERT_ID_HEX_CHARS = 32


@dataclass(frozen=True, slots=True)
class Decision:
    """An alert to publish and the customer's alert state once it is published."""

    alert: Alert
    state: AlertState
    suppressed: SuppressionReason | None = None  # held back: the state moves, the alert is not sent
    over_capacity: bool = False  # held back by the daily capacity: the state moves, the alert is not sent


def sendable(decisions: Sequence[Decision]) -> tuple[list[Alert], Counter[SuppressionReason]]:
    """The alerts to send, and the held ones (suppressed customers) counted by reason.

    Alerts held back by the daily capacity are neither: ``Decision.over_capacity``.
    """
    held: Counter[SuppressionReason] = Counter(d.suppressed for d in decisions if d.suppressed is not None)
    alerts = [d.alert for d in decisions if d.suppressed is None and not d.over_capacity]
    return alerts, held


def alert_id(customer_id: str, zone: Zone, event_time: datetime) -> str:
    """Deterministic id: a hash of customer, zone and the UTC date of the triggering event.

    A replay or a differently batched rerun may trigger on another event of the same
    day (the feature store returns one vector per customer per batch), so the day,
    not the event, identifies the alert. The cooldown is at least a day, so the policy
    never sends two alerts for one customer, zone and day.

    >>> a = alert_id("c1", Zone.RED, datetime(2026, 3, 1, 8, tzinfo=UTC))
    >>> a == alert_id("c1", Zone.RED, datetime(2026, 3, 1, 23, tzinfo=UTC)), len(a)
    (True, 32)
    """
    day = event_time.astimezone(UTC).date().isoformat()
    key = "\x1f".join((customer_id, zone.value, day)).encode()
    return hashlib.sha256(key).hexdigest()[:ALERT_ID_HEX_CHARS]


def priority(value_at_risk: float, score: float) -> float:
    """Orders alerts by value at risk (to the cent), then by score.

    The score adds less than 0.001, so it only breaks ties between equal amounts.

    >>> priority(120.0, 0.9) > priority(119.99, 0.99) > priority(119.99, 0.5)
    True
    """
    return round(value_at_risk, 2) + score / 1000.0


def decide(
    features: FeatureVector,
    score: Score,
    state: AlertState,
    config: PolicyConfig,
    playbook: Playbook,
    created_at: datetime,
) -> Decision | None:
    """The alert for this snapshot, or None; pure, and ``state`` changes only on an alert.

    ``features.as_of`` is the event time that triggers the alert and runs the cooldown;
    ``created_at`` (wall clock, passed in) is only recorded on the alert.
    """
    if features.churned:
        return None
    zone = zone_for(score.value, features, config)
    if zone not in config.alert_zones:
        return None
    event_time = features.as_of
    if not state.allows(zone, event_time, timedelta(days=config.cooldown_days)):
        return None
    tier = value_tier(features.revenue_90d, config)
    value_at_risk = round(score.value * expected_revenue(features.revenue_90d, config), 2)
    dominant = score.dominant_reason
    alert = Alert(
        alert_id=alert_id(features.customer_id, zone, event_time),
        customer_id=features.customer_id,
        event_time=event_time,
        created_at=created_at,
        score=score.value,
        zone=zone,
        previous_zone=state.last_zone,
        value_tier=tier,
        value_at_risk=value_at_risk,
        priority=priority(value_at_risk, score.value),
        reasons=tuple(score.reasons),
        recommended_action=playbook.recommend(dominant.code if dominant else None, tier),
        model_version=score.model_version,
        score_source=score.source,
    )
    return Decision(alert=alert, state=state.after_alert(zone, event_time))
