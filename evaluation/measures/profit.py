"""What a retention campaign driven by the scores would earn: expected profit and EMPC.

The model is Verbraken, Verbeke and Baesens, "A novel profit maximizing metric for measuring
classification performance of customer churn prediction models" (IEEE TKDE 25(5), 2013),
with each snapshot's own customer value instead of one value for everybody. Contacting the
snapshots with the highest scores, a contacted

- churner accepts the offer with probability ``gamma`` and stays: ``gamma (CLV - d) - f`` expected;
- non-churner takes the offer anyway: ``-(d + f)``;

with ``d`` the offer's cost and ``f`` the contact's. Profit is per judged snapshot (the
paper's per-customer normalisation): the sum over the contacted, divided by all snapshots.
Contacting a share ``eta`` takes the ``eta n`` highest scores; a group of equal scores cut by
the boundary counts pro rata, as in expectation under random tie-breaking.

The acceptance rate is unknown: ``gamma ~ Beta(alpha, beta)``. EMPC is the expected profit
when the share is chosen knowing ``gamma``, ``E[max_eta profit(eta; gamma)]``; ``eta*`` is
the expected share so chosen, ``E[argmax_eta profit(eta; gamma)]`` (the smallest maximising
share when several tie). Both expectations use the midpoint rule on ``gamma_points`` equal
cells of ``(0, 1)``, the Beta density weights normalised to sum to 1. Profit is linear in
``gamma`` at a fixed share, so the expected profit at a given share uses
``E[gamma] = alpha / (alpha + beta)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from evaluation.errors import EvaluationInputError

_CHUNK_CELLS = 4_000_000
"""gamma points times tie groups evaluated at once: bounds memory to ~32 MB."""


class ProfitConfig(BaseModel):
    """Campaign costs and the acceptance-rate prior (the paper's defaults except the value)."""

    model_config = ConfigDict(frozen=True)

    offer_cost: Annotated[float, Field(ge=0)] = 10.0
    """``d``: what the retention offer costs, whoever accepts it."""
    contact_cost: Annotated[float, Field(ge=0)] = 1.0
    """``f``: what one contact costs."""
    acceptance_alpha: Annotated[float, Field(gt=0)] = 6.0
    acceptance_beta: Annotated[float, Field(gt=0)] = 14.0
    default_value: Annotated[float, Field(ge=0)] = 200.0
    """Customer value for a snapshot that carries no value estimate of its own."""
    gamma_points: Annotated[int, Field(ge=10)] = 1000

    @property
    def mean_acceptance(self) -> float:
        return self.acceptance_alpha / (self.acceptance_alpha + self.acceptance_beta)


def acceptance_grid(config: ProfitConfig) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Midpoints of ``gamma_points`` equal cells of (0, 1) and their Beta weights (summing to 1).

    >>> gammas, weights = acceptance_grid(ProfitConfig())
    >>> round(float(weights.sum()), 12), round(float((gammas * weights).sum()), 6)
    (1.0, 0.3)
    """
    gammas = (np.arange(config.gamma_points, dtype=np.float64) + 0.5) / config.gamma_points
    a, b = config.acceptance_alpha, config.acceptance_beta
    log_norm = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
    log_density = (a - 1) * np.log(gammas) + (b - 1) * np.log1p(-gammas) + log_norm
    weights = np.exp(log_density)
    return gammas, weights / weights.sum()


@dataclass(frozen=True, slots=True)
class ProfitLines:
    """Profit after contacting each prefix of tie groups, highest scores first, as a line in ``gamma``.

    ``profit_k(gamma) = (gamma slope[k] - cost[k]) / n`` after contacting ``contacted[k]`` snapshots;
    index 0 is contacting nobody.
    """

    contacted: npt.NDArray[np.float64]
    slope: npt.NDArray[np.float64]
    cost: npt.NDArray[np.float64]
    n: int

    @property
    def shares(self) -> npt.NDArray[np.float64]:
        return self.contacted / self.n

    def profit(self, gamma: float) -> npt.NDArray[np.float64]:
        """Profit per snapshot at each prefix for one acceptance rate."""
        return (gamma * self.slope - self.cost) / self.n

    def profit_at_share(self, share: float, gamma: float) -> float:
        """Profit per snapshot contacting ``share`` of them (pro rata inside a tie group)."""
        return float(np.interp(share * self.n, self.contacted, self.profit(gamma)))


def profit_lines(
    scores: Sequence[float], churned: Sequence[bool], values: Sequence[float], config: ProfitConfig
) -> ProfitLines:
    """The prefix sums behind every profit figure; ``values`` are the customers' values (CLV)."""
    score = np.asarray(scores, dtype=np.float64)
    label = np.asarray(churned, dtype=bool)
    value = np.asarray(values, dtype=np.float64)
    if not score.size == label.size == value.size:
        sizes = (score.size, label.size, value.size)
        raise EvaluationInputError("scores/churned/values", sizes, "must have the same length")
    distinct, group = np.unique(-score, return_inverse=True)  # highest score first
    d, f = config.offer_cost, config.contact_cost
    slope = np.bincount(group, weights=np.where(label, value - d, 0.0), minlength=distinct.size)
    cost = np.bincount(group, weights=np.where(label, f, d + f), minlength=distinct.size)
    counts = np.bincount(group, minlength=distinct.size).astype(np.float64)
    zero = np.zeros(1)
    return ProfitLines(
        contacted=np.concatenate([zero, np.cumsum(counts)]),
        slope=np.concatenate([zero, np.cumsum(slope)]),
        cost=np.concatenate([zero, np.cumsum(cost)]),
        n=int(score.size),
    )


@dataclass(frozen=True, slots=True)
class Empc:
    """EMPC (profit per snapshot) and the expected profit-maximising share ``eta*``."""

    empc: float
    best_share: float


def empc(lines: ProfitLines, config: ProfitConfig) -> Empc:
    """Expected maximum profit over the Beta prior of the acceptance rate.

    >>> config = ProfitConfig(default_value=200.0)
    >>> lines = profit_lines([0.9, 0.1, 0.1, 0.1], [True, False, False, False], [200.0] * 4, config)
    >>> perfect = empc(lines, config)
    >>> round(perfect.empc, 2), round(perfect.best_share, 6)
    (14.0, 0.25)
    """
    if lines.n == 0:
        return Empc(0.0, 0.0)
    gammas, weights = acceptance_grid(config)
    chunk = max(1, _CHUNK_CELLS // lines.slope.size)
    expected_max = expected_share = 0.0
    for start in range(0, gammas.size, chunk):
        gamma = gammas[start : start + chunk, None]
        profit = gamma * lines.slope[None, :] - lines.cost[None, :]
        best = profit.argmax(axis=1)
        weight = weights[start : start + chunk]
        expected_max += float(weight @ profit[np.arange(best.size), best])
        expected_share += float(weight @ lines.contacted[best])
    return Empc(empc=expected_max / lines.n, best_share=expected_share / lines.n)


class ProfitReport(BaseModel):
    """Campaign money: EMPC, ``eta*`` and the expected profit at the share the alerts contacted."""

    model_config = ConfigDict(frozen=True)

    snapshots: int
    values_defaulted: int
    """Snapshots without a ``revenue_90d`` feature, valued at ``default_value``."""
    empc: float
    """Expected maximum profit per judged snapshot (currency of the revenue figures)."""
    best_share: float
    """``eta*``: the expected share of snapshots to contact, chosen knowing the acceptance rate."""
    policy_share: float | None
    """Alerted customers over scored customers: the share the alert policy contacted."""
    profit_at_policy_share: float | None
    """Expected profit per judged snapshot contacting ``policy_share`` of the highest scores."""
    config: ProfitConfig


def snapshot_values(revenues: Sequence[float | None], config: ProfitConfig) -> list[float]:
    """Each snapshot's customer value: its ``revenue_90d``, else ``default_value``.

    >>> snapshot_values([120.0, None], ProfitConfig(default_value=50.0))
    [120.0, 50.0]
    """
    return [config.default_value if revenue is None else revenue for revenue in revenues]


def profit_report(
    scores: Sequence[float],
    churned: Sequence[bool],
    revenues: Sequence[float | None],
    policy_share: float | None,
    config: ProfitConfig | None = None,
) -> ProfitReport:
    """Every money figure of one run; a snapshot's value is its ``revenue_90d``, else the default.

    >>> report = profit_report([0.9, 0.1], [True, False], [300.0, None], policy_share=0.5)
    >>> report.values_defaulted, round(report.profit_at_policy_share, 2)
    (1, 43.0)
    """
    config = config or ProfitConfig()
    lines = profit_lines(scores, churned, snapshot_values(revenues, config), config)
    result = empc(lines, config)
    return ProfitReport(
        snapshots=lines.n,
        values_defaulted=sum(revenue is None for revenue in revenues),
        empc=result.empc,
        best_share=result.best_share,
        policy_share=policy_share,
        profit_at_policy_share=(
            None
            if policy_share is None or lines.n == 0
            else lines.profit_at_share(policy_share, config.mean_acceptance)
        ),
        config=config,
    )


def contacted_share(alerted_customers: Iterable[str], scored_customers: Iterable[str]) -> float | None:
    """The share of scored customers the alert policy contacted; None when nobody was scored.

    >>> contacted_share(["C1", "C1", "X"], ["C1", "C2", "C3", "C4"])
    0.25
    """
    scored = set(scored_customers)
    if not scored:
        return None
    return len(scored.intersection(alerted_customers)) / len(scored)
