"""Transparent scoring rules from the operators' retention playbooks (used at cold start).

Each rule turns one risk signal into a strength in 0..1 that never falls when the signal
gets worse; the score is ``sigmoid(bias + Σ weight * strength)``, so it is monotone in
every signal and each rule's contribution (``weight * strength``, in logit units) is the
weight of its reason. Thresholds and weights: ``ColdStartConfig``, docs/scoring.md.

Attribute priors say who the customer is (no commitment, a term ending, short tenure,
manual payment; bundles protect) where the behaviour rules have nothing to say. They are
taken from published churn studies, not fitted to a simulated population, and each is
neutral when the profile does not state its attribute, so a source without profiles
scores as before.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from features.vector import FeatureVector
from models.config import ColdStartConfig, ScoringConfig
from models.derived_inputs import rate_ratio
from models.reason_codes import (
    COMPLAINT_CODE_ORDER,
    ReasonCode,
    complaint_count_values,
    dominant_code_of,
    finite,
)
from models.reason_texts import calls_trend, recent_calls_ratio, term_days_left, weekly_calls_30d
from models.reasons import ranked_reasons, reasons_of
from models.scorer import ExplainedOnDemand, Score
from schemas.outputs import Reason, ScoreSource


def ramp(value: float, start: float, full: float) -> float:
    """0 below ``start``, 1 above ``full``, linear in between (non-decreasing in ``value``).

    >>> ramp(0.5, 0.0, 1.0), ramp(-3.0, 0.0, 1.0), ramp(7.0, 0.0, 1.0)
    (0.5, 0.0, 1.0)
    """
    return min(1.0, max(0.0, (finite(value) - start) / (full - start)))


def sigmoid(logit: float) -> float:
    """The logistic function, safe for large magnitudes.

    >>> sigmoid(0.0)
    0.5
    """
    if logit >= 0:
        return 1.0 / (1.0 + math.exp(-logit))
    odds = math.exp(logit)
    return odds / (1.0 + odds)


def rule_strengths(features: FeatureVector, config: ColdStartConfig) -> dict[ReasonCode, float]:
    """Strength 0..1 of every rule that fires, keyed by the reason code it reports under.

    >>> from dataclasses import replace
    >>> from datetime import UTC, datetime
    >>> v = FeatureVector.empty("c1", datetime(2026, 1, 1, tzinfo=UTC))
    >>> rule_strengths(replace(v, usage_trend=-0.25), ColdStartConfig())
    {<ReasonCode.USAGE_DECLINE: 'usage_decline'>: 0.5}
    """
    return dict(_fired(features, config, _category_weights(config)))


def _fired(
    features: FeatureVector, config: ColdStartConfig, category_weights: tuple[float, ...]
) -> list[tuple[ReasonCode, float]]:
    """``(code, strength)`` of the rules that fire, in rule order (the order sums are taken in)."""
    fired: list[tuple[ReasonCode, float]] = []
    usage_decline = _usage_decline(features, config)
    if usage_decline > 0.0:
        fired.append((ReasonCode.USAGE_DECLINE, usage_decline))
    topup_decline = ramp(-features.topup_trend, config.decline_start, config.decline_full)
    if topup_decline > 0.0:
        fired.append((ReasonCode.TOPUP_DECLINE, topup_decline))
    for code, strength in (
        (ReasonCode.RECENT_CALLS_DROP, _recent_calls_drop(features, config)),
        (ReasonCode.TOPUP_LAPSE, _topup_lapse(features, config)),
        (ReasonCode.DROPPED_CALLS, _dropped_calls(features, config)),
        (ReasonCode.OFF_NET_SHARE, _off_net(features, config)),
        (ReasonCode.CONTACTS_COLLAPSE, _contacts_collapse(features, config)),
    ):
        if strength > 0:
            fired.append((code, strength))
    counts = complaint_count_values(features)
    complaints = _complaint_burst(features, config, counts, category_weights)
    if complaints > 0:
        fired.append((dominant_code_of(counts) or ReasonCode.COMPLAINT_HISTORY, complaints))
    fired.extend(attribute_priors(features, config))
    return fired


def attribute_priors(features: FeatureVector, config: ColdStartConfig) -> list[tuple[ReasonCode, float]]:
    """``(code, strength)`` of the attribute priors that speak, strength in -1..1 (bundles
    protect: negative); none for attributes the profile does not state.

    Contract and payment share one code each; a commitment that ends soon and no
    commitment are the same reason (free to leave), the stronger one counts.

    >>> from dataclasses import replace
    >>> from datetime import UTC, datetime
    >>> v = replace(FeatureVector.empty("c1", datetime(2026, 1, 1, tzinfo=UTC)),
    ...             commitment_months=0.0, tenure_days=73.0, bundled_services=2.0)
    >>> [(code.value, round(strength, 2)) for code, strength in attribute_priors(v, ColdStartConfig())]
    [('contract_term', 1.0), ('tenure', 0.8), ('price_plan', -0.67)]
    """
    priors: list[tuple[ReasonCode, float]] = []
    contract = _contract_freedom(features, config)
    if contract > 0.0:
        priors.append((ReasonCode.CONTRACT_TERM, contract))
    if features.tenure_days is not None:
        newness = ramp(-finite(features.tenure_days), -config.short_tenure_days, 0.0)
        if newness > 0.0:
            priors.append((ReasonCode.TENURE, newness))
    manual = finite(features.topup_manual_share_90d)
    if manual > 0.0:
        priors.append((ReasonCode.PAYMENT_METHOD, min(manual, 1.0)))
    bundles = features.bundled_services
    if bundles is not None and bundles > 0 and config.bundle_protection_max > 0:
        priors.append(
            (
                ReasonCode.PRICE_PLAN,
                -min(finite(bundles), config.bundle_protection_max) / config.bundle_protection_max,
            )
        )
    return priors


def _contract_freedom(features: FeatureVector, config: ColdStartConfig) -> float:
    """How free to leave the contract makes the customer, 0..1, as a share of the no-commitment
    weight: 1 without commitment, the ending weight's share as the term's end nears."""
    months = features.commitment_months
    if months is None:
        return 0.0
    if months < 1:
        return 1.0
    left_days = term_days_left(features)
    if left_days is None or config.no_commitment_weight <= 0.0:
        return 0.0
    nearness = ramp(-left_days, -config.commitment_ending_days, 0.0)
    return nearness * config.commitment_ending_weight / config.no_commitment_weight


def _usage_decline(features: FeatureVector, config: ColdStartConfig) -> float:
    """The smaller fall of call minutes and of the number of calls, over the previous 60 days.

    Minutes alone swing with a few long calls: in the simulated base, first alerts led by a
    minutes decline without a complaint were nearly all stayers (docs/scoring.md). A
    customer with no call in 90 days has no calls trend, and the minutes speak alone.
    """
    decline = finite(features.usage_trend)
    calls = calls_trend(features)
    if calls is not None:
        decline = max(decline, calls)
    return ramp(-decline, config.decline_start, config.decline_full)


def _recent_calls_drop(features: FeatureVector, config: ColdStartConfig) -> float:
    """The last week's call rate fallen against the customer's own 30-day rate.

    Reads a silence within days, where the 60-day trend sees about half of a drop weeks
    later. Discounted for light users (a quiet week of someone with a few calls a week is
    chance) and silent until the 30-day window has had time to fill.
    """
    if not finite(features.history_days) >= config.recent_calls_min_history_days:
        return 0.0
    confidence = min(1.0, weekly_calls_30d(features) / config.recent_calls_min_weekly_calls)
    drop = ramp(
        1.0 - recent_calls_ratio(features),
        1.0 - config.recent_calls_start_ratio,
        1.0 - config.recent_calls_full_ratio,
    )
    return drop * confidence


def _topup_lapse(features: FeatureVector, config: ColdStartConfig) -> float:
    """Days since the last top-up relative to the customer's usual gap."""
    if features.days_since_last_topup is None:
        return 0.0
    gap_days = max(
        config.min_topup_gap_days,
        finite(features.usual_topup_gap_days, config.default_topup_gap_days),
    )
    ratio = finite(features.days_since_last_topup) / gap_days
    return ramp(ratio, config.lapse_start_ratio, config.lapse_full_ratio)


def _category_weights(config: ColdStartConfig) -> tuple[float, ...]:
    """Complaint category weights in ``COMPLAINT_CATEGORIES`` order (network, price, ...)."""
    by_code = {
        ReasonCode.COMPLAINTS_NETWORK: config.complaint_network_weight,
        ReasonCode.COMPLAINTS_PRICE: config.complaint_price_weight,
        ReasonCode.COMPLAINTS_BILLING: config.complaint_billing_weight,
        ReasonCode.COMPLAINTS_TECHNICAL: config.complaint_technical_weight,
        ReasonCode.COMPLAINTS_SERVICE: config.complaint_service_weight,
        ReasonCode.COMPLAINTS_OTHER: config.complaint_other_weight,
    }
    return tuple(by_code[code] for code in COMPLAINT_CODE_ORDER)


def _complaint_burst(
    features: FeatureVector,
    config: ColdStartConfig,
    counts: tuple[float, ...],
    category_weights: tuple[float, ...],
) -> float:
    """Saturating load of recent complaints: category-weighted, severity, unresolved."""
    load = sum(weight * count for weight, count in zip(category_weights, counts, strict=True))
    load += config.complaint_severity_weight * max(0.0, finite(features.complaint_severity_30d))
    load += config.complaint_unresolved_weight * max(0.0, finite(features.unresolved_complaints_30d))
    return 1.0 - math.exp(-load / config.complaint_load_scale)


def _dropped_calls(features: FeatureVector, config: ColdStartConfig) -> float:
    """Dropped share above the baseline, discounted when there were few calls to judge by."""
    calls_30d = max(0.0, finite(features.calls_out_30d)) + max(0.0, finite(features.calls_in_30d))
    confidence = min(1.0, calls_30d / config.dropped_min_calls_30d)
    share = ramp(features.dropped_call_share_30d, config.dropped_share_baseline, config.dropped_share_full)
    return share * confidence


def _off_net(features: FeatureVector, config: ColdStartConfig) -> float:
    """Outgoing minutes going to other networks, above the usual level (calls moving away)."""
    minutes_30d = max(0.0, finite(features.minutes_out_30d))
    confidence = min(1.0, minutes_30d / config.off_net_min_minutes_30d)
    share = ramp(features.off_net_share_30d, config.off_net_share_baseline, config.off_net_share_full)
    return share * confidence


def _contacts_collapse(features: FeatureVector, config: ColdStartConfig) -> float:
    """Few distinct contacts now although the customer used to call out regularly, and
    calls out fell: without the fall, few contacts is a habit (or a source that sends no
    real counterparties), not a change."""
    prior_calls = max(0.0, finite(features.calls_out_90d) - finite(features.calls_out_30d))
    confidence = min(1.0, prior_calls / config.contacts_min_prior_calls)
    contacts = max(0.0, finite(features.distinct_contacts_30d))
    shortfall = max(0.0, config.contacts_floor - contacts) / config.contacts_floor
    fall = ramp(
        1.0
        - rate_ratio(features.calls_out_30d, 30, features.calls_out_90d, 90, finite(features.history_days)),
        0.0,
        1.0 - config.contacts_calls_fall_full_ratio,
    )
    return shortfall * confidence * fall


def rule_weights(config: ColdStartConfig) -> dict[ReasonCode, float]:
    """Full-strength contribution (logit units) of each rule code."""
    complaints = config.complaints_weight
    return {
        ReasonCode.USAGE_DECLINE: config.usage_decline_weight,
        ReasonCode.TOPUP_DECLINE: config.topup_decline_weight,
        ReasonCode.TOPUP_LAPSE: config.topup_lapse_weight,
        ReasonCode.DROPPED_CALLS: config.dropped_calls_weight,
        ReasonCode.OFF_NET_SHARE: config.off_net_weight,
        ReasonCode.CONTACTS_COLLAPSE: config.contacts_collapse_weight,
        ReasonCode.RECENT_CALLS_DROP: config.recent_calls_drop_weight,
        ReasonCode.COMPLAINT_HISTORY: complaints,
        ReasonCode.COMPLAINTS_NETWORK: complaints,
        ReasonCode.COMPLAINTS_PRICE: complaints,
        ReasonCode.COMPLAINTS_BILLING: complaints,
        ReasonCode.COMPLAINTS_TECHNICAL: complaints,
        ReasonCode.COMPLAINTS_SERVICE: complaints,
        ReasonCode.COMPLAINTS_OTHER: complaints,
        ReasonCode.CONTRACT_TERM: config.no_commitment_weight,
        ReasonCode.TENURE: config.short_tenure_weight,
        ReasonCode.PAYMENT_METHOD: config.manual_payment_weight,
        ReasonCode.PRICE_PLAN: config.bundle_protection_weight,
    }


@dataclass(frozen=True, slots=True)
class ColdStartRules:
    """The playbook rules as a Scorer: stateless, so scoring can never learn.

    Customers who already churned are scored like anyone else (the evidence is still
    true), with an ``already_churned`` reason put first; the alert policy skips them.

    >>> from datetime import UTC, datetime
    >>> rules = ColdStartRules()
    >>> score = rules.score(FeatureVector.empty("c1", datetime(2026, 1, 1, tzinfo=UTC)))
    >>> round(score.value, 3), score.reasons, score.model_version
    (0.047, (), 'rules-3')
    """

    config: ScoringConfig = field(default_factory=ScoringConfig)
    _weights: dict[ReasonCode, float] = field(init=False, repr=False, compare=False)
    _category_weights: tuple[float, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Derived from the config once: score runs for every touched customer, every tick.
        object.__setattr__(self, "_weights", rule_weights(self.config.rules))
        object.__setattr__(self, "_category_weights", _category_weights(self.config.rules))

    @property
    def model_version(self) -> str:
        return self.config.rules.model_version

    def score(self, features: FeatureVector) -> Score:
        return self.score_many((features,))[0]

    def score_many(self, vectors: Sequence[FeatureVector]) -> list[Score]:
        """``score`` of each vector, in order, each computed alone with the same arithmetic
        (a batch of any size or mix gives every customer the score it gets alone, to the bit).

        Reasons are worked out when first read: only the customers who alert show them.
        """
        rules = self.config.rules
        bias = rules.bias
        weights = self._weights
        category_weights = self._category_weights
        version = self.model_version
        source = ScoreSource.COLD_START_RULES
        scores = []
        for features in vectors:
            contributions = [
                (code, weights[code] * strength)
                for code, strength in _fired(features, rules, category_weights)
            ]
            value = sigmoid(bias + sum(contribution for _, contribution in contributions))
            scores.append(Score(value, self._explained(features, contributions), source, version))
        return scores

    def _explained(
        self, features: FeatureVector, contributions: list[tuple[ReasonCode, float]]
    ) -> ExplainedOnDemand:
        """The strongest contributions as reasons, worked out on first read."""
        config = self.config

        def explain() -> tuple[Reason, ...]:
            kept = [item for item in contributions if item[1] >= config.min_reason_weight]
            kept.sort(key=lambda item: -item[1])  # stable, as ranked_reasons orders them
            reasons = reasons_of(kept[: config.max_reasons], features)
            return ranked_reasons(features, reasons, config.max_reasons)

        return ExplainedOnDemand(explain)
