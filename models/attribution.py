"""Reasons for any model: what each reason group's inputs add to the score, by occlusion.

A linear model's reasons are its weights times the scaled inputs; a tree ensemble has no
such weights. Attribution by occlusion needs only the model's score: a reason group's
contribution is ``logit(score(x)) - logit(score(x with the group's inputs at the
baseline))``, the baseline being the population's running means, which the model keeps
as it learns. In logit units, like the linear reasons (for a linear model over
standardised inputs, with the baseline at the scaler's means, the two agree up to
the clip). A group whose inputs are all at the baseline contributes 0 without being
scored; the others cost one score each, so models work them out only for the customers
who are alerted (``models.scorer.ExplainedOnDemand``).

Inputs map to reason groups as for the linear model (``models.reasons``): by name, and
complaint aggregates to the customer's dominant complaint category.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from features.vector import FeatureVector
from models.derived_inputs import RULES_INPUT
from models.reason_codes import ReasonCode, complaint_aggregate_code, fixed_code_for_feature
from models.reasons import ranked_reasons, reasons_of
from schemas.outputs import Reason

LOGIT_BOUND = 1e-4
"""Probabilities are clipped to [this, 1 - this] before the logit: a tree leaf that holds no
churner says "few churners like this", not "impossible" (log-odds within ±9.2)."""


def logit(probability: float) -> float:
    """Log-odds of a probability, finite at 0 and 1.

    >>> logit(0.5), round(logit(0.9), 4), round(logit(0.0), 1)
    (0.0, 2.1972, -9.2)
    """
    clipped = min(1.0 - LOGIT_BOUND, max(LOGIT_BOUND, probability))
    return math.log(clipped / (1.0 - clipped))


def reason_groups(inputs: Mapping[str, float], features: FeatureVector) -> dict[ReasonCode, list[str]]:
    """The model inputs of each reason code, in input order; the churned flag is left out
    (``ranked_reasons`` states it, whatever the model made of it).

    >>> from datetime import UTC, datetime
    >>> v = FeatureVector.empty("c1", datetime(2026, 1, 1, tzinfo=UTC))
    >>> groups = reason_groups({"calls_out_7d": 1.0, "complaints_30d": 0.0, "churned": 0.0}, v)
    >>> {code.value: names for code, names in groups.items()}
    {'usage_decline': ['calls_out_7d'], 'complaint_history': ['complaints_30d']}
    """
    groups: dict[ReasonCode, list[str]] = {}
    aggregate_code: ReasonCode | None = None  # the same for every complaint aggregate
    for name in inputs:
        if name == RULES_INPUT:  # the rules explain themselves: routing lends their reasons
            continue
        code = fixed_code_for_feature(name)
        if code is None:
            if aggregate_code is None:
                aggregate_code = complaint_aggregate_code(features)
            code = aggregate_code
        if code is ReasonCode.ALREADY_CHURNED:
            continue
        groups.setdefault(code, []).append(name)
    return groups


def group_contributions(
    log_odds: Callable[[Mapping[str, float]], float],
    inputs: Mapping[str, float],
    baseline: Mapping[str, float],
    groups: Mapping[ReasonCode, list[str]],
) -> dict[ReasonCode, float]:
    """Each group's contribution: ``log_odds(inputs)`` less ``log_odds`` with that group's
    inputs at ``baseline`` (inputs without a baseline value stay as they are).

    >>> linear = lambda x: 2.0 * x["a"] - x["b"]
    >>> groups = {ReasonCode.USAGE_DECLINE: ["a"], ReasonCode.TOPUP_DECLINE: ["b"]}
    >>> group_contributions(linear, {"a": 1.0, "b": 3.0}, {"a": 0.0, "b": 3.0}, groups)
    {<ReasonCode.USAGE_DECLINE: 'usage_decline'>: 2.0, <ReasonCode.TOPUP_DECLINE: 'topup_decline'>: 0.0}
    """
    full = log_odds(inputs)
    contributions: dict[ReasonCode, float] = {}
    for code, names in groups.items():
        replaced = {
            name: baseline[name] for name in names if name in baseline and baseline[name] != inputs[name]
        }
        if not replaced:
            contributions[code] = 0.0
            continue
        occluded = dict(inputs)
        occluded.update(replaced)
        contributions[code] = full - log_odds(occluded)
    return contributions


def attributed_reasons(
    features: FeatureVector,
    contributions: Mapping[ReasonCode, float],
    baseline_log_odds: float,
    value: float,
    min_weight: float,
    limit: int,
) -> tuple[Reason, ...]:
    """Reasons from group contributions, as the linear model gives them: the positive ones of
    at least ``min_weight``, strongest first; the baseline's log-odds speak for
    ``model_baseline``. A score above 0.5 always has a reason: the strongest positive one,
    or, when no single group raises it (the inputs only act together), the baseline code
    with the score's log-odds.

    >>> from datetime import UTC, datetime
    >>> v = FeatureVector.empty("c1", datetime(2026, 1, 1, tzinfo=UTC))
    >>> [r.code for r in attributed_reasons(v, {ReasonCode.TOPUP_LAPSE: 1.2}, -3.0, 0.2, 0.05, 3)]
    ['topup_lapse']
    >>> [r.code for r in attributed_reasons(v, {ReasonCode.TOPUP_LAPSE: -0.2}, -3.0, 0.7, 0.05, 3)]
    ['model_baseline']
    """
    by_code = dict(contributions)
    by_code[ReasonCode.MODEL_BASELINE] = by_code.get(ReasonCode.MODEL_BASELINE, 0.0) + baseline_log_odds
    positive = {code: weight for code, weight in by_code.items() if weight > 0}
    kept = {code: weight for code, weight in positive.items() if weight >= min_weight}
    if not kept and value > 0.5:
        if positive:
            strongest = max(positive, key=lambda code: positive[code])
            kept = {strongest: positive[strongest]}
        else:
            kept = {ReasonCode.MODEL_BASELINE: logit(value)}
    ordered = sorted(kept.items(), key=lambda item: -item[1])
    return ranked_reasons(features, reasons_of(ordered, features), limit)
