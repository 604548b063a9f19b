"""Zones from scores and value tiers from revenue."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from features.vector import FeatureVector
from policy.config import PolicyConfig
from policy.value_tiers import expected_revenue, value_tier
from policy.zones import zone_for
from schemas.outputs import ValueTier, Zone

SEASONED = replace(FeatureVector.empty("c1", datetime(2026, 3, 1, tzinfo=UTC)), history_days=120.0)
CONFIG = PolicyConfig()
TIER_ORDER = [
    ValueTier.UNPROFITABLE,
    ValueTier.LOW,
    ValueTier.MEDIUM,
    ValueTier.HIGH,
    ValueTier.KEY,
]


class TestZones:
    @given(a=st.floats(0.0, 1.0), b=st.floats(0.0, 1.0))
    def test_zone_never_falls_as_the_score_rises(self, a: float, b: float) -> None:
        """A higher score never gives a lower zone."""
        low, high = sorted((a, b))
        assert zone_for(low, SEASONED, CONFIG).rank <= zone_for(high, SEASONED, CONFIG).rank

    @pytest.mark.parametrize(
        ("score", "zone"),
        [
            (0.0, Zone.BLUE),
            (0.19, Zone.BLUE),
            (0.2, Zone.GREEN),
            (0.4, Zone.YELLOW),
            (0.69, Zone.YELLOW),
            (0.7, Zone.RED),
            (1.0, Zone.RED),
        ],
    )
    def test_zone_lower_bounds_are_inclusive(self, score: float, zone: Zone) -> None:
        """Each threshold belongs to the zone it starts."""
        assert zone_for(score, SEASONED, CONFIG) == zone

    @given(score=st.floats(0.0, 1.0), history_days=st.floats(0.0, 29.99))
    def test_short_history_is_white_whatever_the_score(self, score: float, history_days: float) -> None:
        """Below min_history_days every score maps to white."""
        features = replace(SEASONED, history_days=history_days)
        assert zone_for(score, features, CONFIG) == Zone.WHITE

    def test_thresholds_must_rise(self) -> None:
        """A config with yellow above red is rejected."""
        with pytest.raises(ValidationError, match="zone thresholds must rise"):
            PolicyConfig(yellow_min_score=0.8, red_min_score=0.7)

    def test_white_cannot_be_an_alert_zone(self) -> None:
        """Alerting on white (no history) is a configuration error."""
        with pytest.raises(ValidationError, match="white"):
            PolicyConfig(alert_zones=frozenset({Zone.WHITE, Zone.RED}))

    def test_cooldown_shorter_than_a_day_is_rejected(self) -> None:
        """The cooldown must be at least a day, or alert ids could repeat within a day."""
        with pytest.raises(ValidationError, match="cooldown_days"):
            PolicyConfig(cooldown_days=0.5)


class TestValueTiers:
    @pytest.mark.parametrize(
        ("revenue_90d", "tier"),
        [
            (0.0, ValueTier.UNPROFITABLE),
            (14.99, ValueTier.UNPROFITABLE),
            (15.0, ValueTier.LOW),
            (45.0, ValueTier.MEDIUM),
            (120.0, ValueTier.HIGH),
            (300.0, ValueTier.KEY),
            (10_000.0, ValueTier.KEY),
        ],
    )
    def test_tier_lower_bounds_are_inclusive(self, revenue_90d: float, tier: ValueTier) -> None:
        """Each revenue threshold belongs to the tier it starts."""
        assert value_tier(revenue_90d, CONFIG) == tier

    @given(a=st.floats(-100.0, 1e6), b=st.floats(-100.0, 1e6))
    def test_more_revenue_never_lowers_the_tier(self, a: float, b: float) -> None:
        """Tiers rise with revenue."""
        low, high = sorted((a, b))
        assert TIER_ORDER.index(value_tier(low, CONFIG)) <= TIER_ORDER.index(value_tier(high, CONFIG))

    def test_negative_or_nan_revenue_counts_as_none(self) -> None:
        """Refund-driven negative or missing revenue is unprofitable with nothing at risk."""
        assert [value_tier(r, CONFIG) for r in (-5.0, float("nan"))] == [
            ValueTier.UNPROFITABLE,
            ValueTier.UNPROFITABLE,
        ]
        assert expected_revenue(float("nan"), CONFIG) == 0.0

    def test_expected_revenue_scales_the_90_day_rate_to_the_horizon(self) -> None:
        """The default horizon equals the 90-day window, so expected revenue is revenue_90d."""
        assert expected_revenue(150.0, CONFIG) == pytest.approx(150.0)
        assert expected_revenue(150.0, PolicyConfig(value_horizon_days=365)) == pytest.approx(
            150.0 / 90 * 365
        )
