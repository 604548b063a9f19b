"""How many alerts a partition group may send per event-time day: the operating point, split.

The deployment's daily budget (``CapacityConfig``), as an absolute N split across the
partition groups (``group_budget``) or as a share of each group's active base per 30 days
(``share_budget``) with the unspent part carried to the next day (``carried``).
"""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from policy.capacity_state import ALL_TIERS
from schemas.outputs import ValueTier

LABEL_HORIZON_DAYS = 30
"""The days a share of the base is spread over: the label horizon of a 30-day churn warning."""

DEFAULT_BASE_SHARE_30D = 0.00165
"""The default operating point: the share of the active base alerted per 30 days.

The expected-profit-maximising share (EMPC's ``eta*``) of the judged 30-day snapshots of
one simulated population: 2,000 customers x 150 days, seed 7, ``cold_start_rules``
scores, ``evaluation/measures/profit.py`` with the product's campaign (offer 10, contact 1,
acceptance ~ Beta(6, 14), each snapshot valued at its 90-day revenue, 200 without one):
0.00165 of 68,159 snapshots (``churnwatch evaluate``, 2026-12-06). Judged on seed 11 in
docs/alert-policy.md.
"""

BaseShare = Annotated[float, Field(gt=0.0, le=1.0)]


class CapacityConfig(BaseModel):
    """How many alerts go out per event-time day: the operating point.

    ``daily_alerts`` caps the alerts of a whole deployment per event-time day, and takes
    precedence. Without it, each partition group may send ``base_share_30d`` of its
    active base (the customers it has seen and who have not churned) per 30 days, a
    thirtieth of it per day (``share_budget``); ``None`` (or ``"off"``) turns that off, and then, with
    no ``daily_alerts`` either, every alert goes out. ``per_tier`` gives value tiers
    budgets of their own (the other tiers share the lane above, or are not capped
    without one). ``history_days`` is how many recent event-time days the bar learns from.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    daily_alerts: Annotated[int, Field(ge=0)] | None = None
    base_share_30d: BaseShare | None = DEFAULT_BASE_SHARE_30D
    per_tier: dict[ValueTier, Annotated[int, Field(ge=0)]] = Field(default_factory=dict)
    history_days: Annotated[int, Field(ge=1, le=60)] = 7

    @field_validator("base_share_30d", mode="before")
    @classmethod
    def _off_is_none(cls, value: object) -> object:
        """``off`` (as an environment variable can say it) turns the share of the base off."""
        return None if isinstance(value, str) and value.strip().lower() == "off" else value

    @property
    def enabled(self) -> bool:
        return self.shared_lane or bool(self.per_tier)

    @property
    def shared_lane(self) -> bool:
        """Whether the tiers without a budget of their own are capped (the ``all`` lane)."""
        return self.daily_alerts is not None or self.base_share_30d is not None

    @property
    def by_base_share(self) -> bool:
        """Whether the shared lane's budget comes from the active base (no absolute ``daily_alerts``)."""
        return self.daily_alerts is None and self.base_share_30d is not None

    def lane(self, tier: ValueTier) -> str | None:
        """The budget an alert of this tier draws on, or None when it is not capped.

        >>> config = CapacityConfig(daily_alerts=10, per_tier={ValueTier.KEY: 2})
        >>> uncapped = CapacityConfig(base_share_30d=None)
        >>> config.lane(ValueTier.KEY), config.lane(ValueTier.LOW), uncapped.lane(ValueTier.LOW)
        ('key', 'all', None)
        """
        if tier in self.per_tier:
            return tier.value
        return ALL_TIERS if self.shared_lane else None

    def budgets(
        self, partition: int, partitions: int, day: int, base: int | None = None, carry: float = 0.0
    ) -> dict[str, int]:
        """Each lane's budget for one partition group on one event-time day.

        ``base`` and ``carry`` are the group's (``CapacityState``): its active base when
        the previous day closed (None before: a group's first day sends nothing by share)
        and what the earlier days left unsent (``carried``).

        >>> CapacityConfig(base_share_30d=0.1).budgets(0, 4, day=0, base=450, carry=0.5)
        {'all': 2}
        """
        totals = {
            tier.value: group_budget(count, partition, partitions, day)
            for tier, count in self.per_tier.items()
        }
        if self.daily_alerts is not None:
            totals[ALL_TIERS] = group_budget(self.daily_alerts, partition, partitions, day)
        elif self.base_share_30d is not None:
            totals[ALL_TIERS] = share_budget(self.base_share_30d, base, carry)[0]
        return dict(sorted(totals.items()))

    def carry_after(self, base: int | None, carry: float, sent: int) -> float:
        """What a day with ``base`` and ``carry`` that sent ``sent`` leaves to the next (0 but by share)."""
        if not self.by_base_share or self.base_share_30d is None:
            return 0.0
        return carried(share_budget(self.base_share_30d, base, carry)[1], sent)


MAX_CARRY = 1.0
"""At most one unspent alert waits for a later day: a day's budget by share is at most one
above its own share, and a small group's alert, once due, waits for its candidate."""


def share_budget(base_share_30d: float, base: int | None, carry: float) -> tuple[int, float]:
    """A day's budget by share of the base, and its allowance: whole alerts of ``share / 30 x base + carry``.

    No base yet (a group's first day): nothing, and nothing carried.

    >>> share_budget(0.1, 600, 0.0), share_budget(0.1, 100, 0.0), share_budget(0.1, 100, 0.75)
    ((2, 2.0), (0, 0.3333333333333333), (1, 1.0833333333333333))
    >>> share_budget(0.1, None, 0.5)
    (0, 0.0)
    """
    if base is None:
        return 0, 0.0
    allowance = base_share_30d * base / LABEL_HORIZON_DAYS + carry
    whole = math.floor(allowance + 1e-9)  # 0.1 * 600 / 30 is 1.9999999999999998
    return whole, max(allowance, float(whole))


def carried(allowance: float, sent: int) -> float:
    """The allowance a day leaves to the next: what it did not send, at most ``MAX_CARRY``.

    So the alerts sent over any run of days stay within the share of the bases (an alert
    is carried only while unsent), and a group whose daily share is below one alert still
    sends one every few days: its budget of one waits, day after day, for a candidate.

    >>> carried(0.4, 0), carried(2.3, 2), carried(2.3, 0)
    (0.4, 0.2999999999999998, 1.0)
    """
    return min(max(allowance - sent, 0.0), MAX_CARRY)


def group_budget(total: int, partition: int, partitions: int, day: int) -> int:
    """A partition group's share of a daily budget: equal shares, the remainder rotating by day.

    The shares of all groups add up to ``total`` exactly, on every day.

    >>> [group_budget(10, p, 4, day=0) for p in range(4)], [group_budget(10, p, 4, day=1) for p in range(4)]
    ([3, 3, 2, 2], [2, 3, 3, 2])
    """
    base, remainder = divmod(total, partitions)
    return base + (1 if (partition - day) % partitions < remainder else 0)


