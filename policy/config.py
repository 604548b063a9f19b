"""Alert policy settings: zone thresholds, history, cooldown, value tiers, playbook file, capacity.

Defaults and their reasons are in docs/alert-policy.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from policy.capacity_budget import CapacityConfig
from schemas.outputs import Zone

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Revenue = Annotated[float, Field(ge=0.0)]


class PolicyConfig(BaseModel):
    """Everything ``policy/`` needs; composed into the worker settings by ``streams/``.

    Blue is the lowest zone for customers with enough history: it covers scores below
    ``green_min_score``. Revenue thresholds are in the operator's currency unit.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    green_min_score: Probability = 0.2
    yellow_min_score: Probability = 0.4
    red_min_score: Probability = 0.7
    min_history_days: Annotated[float, Field(ge=0.0)] = 30.0
    alert_zones: frozenset[Zone] = frozenset({Zone.YELLOW, Zone.RED})
    # at least a day: alert ids are unique per customer, zone and event-time day
    cooldown_days: Annotated[float, Field(ge=1.0)] = 7.0
    key_min_revenue_90d: Revenue = 300.0
    high_min_revenue_90d: Revenue = 120.0
    medium_min_revenue_90d: Revenue = 45.0
    low_min_revenue_90d: Revenue = 15.0
    # expected revenue lost if the customer leaves = revenue_90d scaled to this horizon
    value_horizon_days: Annotated[float, Field(gt=0.0)] = 90.0
    playbook_path: Path | None = None  # None: the packaged policy/playbook.yaml
    # how many alerts go out per event-time day (the operating point): an absolute daily
    # capacity (CHURNWATCH_POLICY__CAPACITY__DAILY_ALERTS) if set, else by default the
    # expected-profit-maximising share of the active base per 30 days
    # (CHURNWATCH_POLICY__CAPACITY__BASE_SHARE_30D; "off" with no daily_alerts: no cap).
    # The zones above decide the zone shown and who may be alerted; this decides how many.
    capacity: CapacityConfig = CapacityConfig()

    @model_validator(mode="after")
    def _thresholds_ascend(self) -> PolicyConfig:
        if not self.green_min_score < self.yellow_min_score < self.red_min_score:
            raise ValueError("zone thresholds must rise: green < yellow < red")
        if not (
            self.low_min_revenue_90d
            < self.medium_min_revenue_90d
            < self.high_min_revenue_90d
            < self.key_min_revenue_90d
        ):
            raise ValueError("revenue thresholds must rise: low < medium < high < key")
        if Zone.WHITE in self.alert_zones:
            raise ValueError("alert_zones cannot contain white (not enough history)")
        return self
