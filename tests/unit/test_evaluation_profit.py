"""Campaign profit and EMPC against brute force, closed forms and hand-made rankings."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from scipy import integrate, stats

from evaluation.errors import EvaluationInputError
from evaluation.measures.profit import ProfitConfig, acceptance_grid, empc, profit_lines, profit_report

CONFIG = ProfitConfig()


def population(size: int, seed: int) -> tuple[list[float], list[bool], list[float]]:
    """Distinct scores loosely related to churn (~10%), with varied customer values."""
    rng = random.Random(seed)
    churned = [rng.random() < 0.1 for _ in range(size)]
    scores = [1 / (1 + math.exp(-rng.gauss(1.0 if y else 0.0, 1.0))) for y in churned]
    values = [rng.uniform(20.0, 400.0) for _ in range(size)]
    return scores, churned, values


def brute_force_profit(
    scores: list[float], churned: list[bool], values: list[float], contacted: int, gamma: float
) -> float:
    """Profit per customer contacting the ``contacted`` highest scores (distinct scores only)."""
    order = sorted(range(len(scores)), key=lambda i: -scores[i])[:contacted]
    d, f = CONFIG.offer_cost, CONFIG.contact_cost
    total = sum(gamma * (values[i] - d) - f if churned[i] else -(d + f) for i in order)
    return total / len(scores)


class TestAcceptanceGrid:
    def test_weights_follow_the_beta_distribution(self) -> None:
        """The grid's weighted mean and variance are those of Beta(6, 14)."""
        gammas, weights = acceptance_grid(CONFIG)
        mean = float(gammas @ weights)
        variance = float(((gammas - mean) ** 2) @ weights)
        assert mean == pytest.approx(stats.beta.mean(6, 14), abs=1e-6)
        assert variance == pytest.approx(stats.beta.var(6, 14), rel=1e-4)


class TestProfitLines:
    def test_profit_at_every_prefix_matches_brute_force(self) -> None:
        """Each prefix of distinct scores earns what summing over its customers gives."""
        scores, churned, values = population(200, seed=1)
        lines = profit_lines(scores, churned, values, CONFIG)
        profits = lines.profit(0.3)
        for contacted in (0, 1, 17, 100, 200):
            expected = brute_force_profit(scores, churned, values, contacted, 0.3)
            assert profits[contacted] == pytest.approx(expected, abs=1e-9)

    def test_a_tie_group_cut_by_the_share_counts_pro_rata(self) -> None:
        """Contacting half of four tied customers earns half of contacting all four."""
        lines = profit_lines([0.5] * 4, [True, False, False, False], [100.0] * 4, CONFIG)
        assert lines.profit_at_share(0.5, 0.3) == pytest.approx(lines.profit_at_share(1.0, 0.3) / 2)

    def test_mismatched_lengths_are_an_input_error(self) -> None:
        """Scores, labels and values must line up."""
        with pytest.raises(EvaluationInputError, match="same length"):
            profit_lines([0.1, 0.2], [True], [1.0, 2.0], CONFIG)


class TestEmpc:
    def test_empc_matches_a_monte_carlo_over_the_acceptance_rate(self) -> None:
        """The quadrature agrees with averaging the best brute-force profit over sampled gammas."""
        scores, churned, values = population(300, seed=2)
        lines = profit_lines(scores, churned, values, CONFIG)
        result = empc(lines, CONFIG)
        rng = np.random.default_rng(5)
        gammas = rng.beta(6.0, 14.0, size=20_000)
        # every prefix as a brute-force matrix: (gammas x prefixes)
        order = np.argsort(-np.asarray(scores), kind="stable")
        y = np.asarray(churned)[order]
        v = np.asarray(values)[order]
        gain = np.concatenate([[0.0], np.cumsum(np.where(y, v - 10.0, 0.0))])
        cost = np.concatenate([[0.0], np.cumsum(np.where(y, 1.0, 11.0))])
        profits = (gammas[:, None] * gain[None, :] - cost[None, :]) / len(scores)
        best = profits.max(axis=1)
        standard_error = best.std() / np.sqrt(best.size)
        assert result.empc == pytest.approx(best.mean(), abs=4 * standard_error)
        share = (profits.argmax(axis=1) / len(scores)).mean()
        assert result.best_share == pytest.approx(share, abs=0.01)

    def test_perfect_ranking_matches_the_closed_form(self) -> None:
        """Churners all on top, one value: EMPC = base rate * E[max(0, gamma (CLV - d) - f)]."""
        churned = [True] * 10 + [False] * 90
        scores = [1.0 - i / 100 for i in range(100)]
        lines = profit_lines(scores, churned, [200.0] * 100, CONFIG)
        expected, _ = integrate.quad(
            lambda g: max(0.0, g * 190.0 - 1.0) * stats.beta.pdf(g, 6, 14), 0.0, 1.0, points=[1 / 190]
        )
        assert empc(lines, CONFIG).empc == pytest.approx(0.1 * expected, rel=1e-5)
        assert empc(lines, CONFIG).best_share == pytest.approx(0.1, abs=1e-6)

    def test_perfect_ranking_beats_a_random_one(self) -> None:
        """Scores that put churners first earn more than scores drawn at random."""
        _, churned, values = population(500, seed=3)
        rng = random.Random(4)
        perfect = [float(y) + rng.random() * 0.5 for y in churned]
        shuffled = [rng.random() for _ in churned]
        assert (
            empc(profit_lines(perfect, churned, values, CONFIG), CONFIG).empc
            > empc(profit_lines(shuffled, churned, values, CONFIG), CONFIG).empc
        )

    def test_unprofitable_campaign_contacts_nobody(self) -> None:
        """When no customer is worth the offer, the best share is 0 and EMPC is 0."""
        lines = profit_lines([0.9, 0.1], [True, False], [5.0, 5.0], CONFIG)
        result = empc(lines, CONFIG)
        assert (result.empc, result.best_share) == (0.0, 0.0)

    def test_chunking_does_not_change_the_result(self) -> None:
        """Many tie groups (evaluated in chunks of gammas) give the same EMPC as a fine loop."""
        scores, churned, values = population(5000, seed=6)
        lines = profit_lines(scores, churned, values, CONFIG)
        gammas, weights = acceptance_grid(CONFIG)
        looped = sum(w * lines.profit(float(g)).max() for g, w in zip(gammas, weights, strict=True))
        assert empc(lines, CONFIG).empc == pytest.approx(looped, rel=1e-12)


class TestProfitReport:
    def test_policy_share_profit_uses_the_mean_acceptance(self) -> None:
        """The expected profit at the alerted share is the profit at E[gamma] = 0.3."""
        scores, churned, values = population(100, seed=8)
        report = profit_report(scores, churned, values, policy_share=0.1)
        expected = brute_force_profit(scores, churned, values, 10, 0.3)
        assert report.profit_at_policy_share == pytest.approx(expected, abs=1e-9)

    def test_missing_value_uses_the_default(self) -> None:
        """A snapshot without revenue_90d is valued at the default customer value."""
        with_default = profit_report([0.9], [True], [None], policy_share=1.0)
        explicit = profit_report([0.9], [True], [200.0], policy_share=1.0)
        assert with_default.values_defaulted == 1
        assert with_default.profit_at_policy_share == pytest.approx(explicit.profit_at_policy_share or 0.0)

    def test_no_policy_share_gives_no_policy_profit(self) -> None:
        """Without alerts to compare, the profit at the policy's share is unknown."""
        assert profit_report([0.9], [True], [100.0], policy_share=None).profit_at_policy_share is None
