"""Scoring settings: cold-start rule weights, online model hyper-parameters, reason limits.

Weights are in logit units (evidence added to the log-odds of churning), so a weight of
``ln(2) ≈ 0.69`` doubles the odds when its signal is at full strength. See docs/scoring.md.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

NonNegative = Annotated[float, Field(ge=0.0)]
Positive = Annotated[float, Field(gt=0.0)]
Share = Annotated[float, Field(ge=0.0, le=1.0)]


class ColdStartConfig(BaseModel):
    """Weights and thresholds of the playbook rules used until the online model is warm."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # rules-3: attribute priors (contract, tenure, payment, bundles); contacts collapse only
    # with a fall in outgoing calls (docs/scoring.md)
    model_version: Annotated[str, Field(min_length=1, max_length=64)] = "rules-3"
    # log-odds with no evidence at all: sigmoid(-3.0) ≈ 5%, a typical monthly prepaid churn rate
    bias: float = -3.0
    usage_decline_weight: NonNegative = 2.2
    topup_decline_weight: NonNegative = 0.8
    topup_lapse_weight: NonNegative = 1.4
    complaints_weight: NonNegative = 3.0
    dropped_calls_weight: NonNegative = 1.2
    off_net_weight: NonNegative = 0.6
    contacts_collapse_weight: NonNegative = 0.8
    recent_calls_drop_weight: NonNegative = 3.0
    # declines: the decayed-window trend reads about half a real drop (a 60% fall reads
    # -0.3 four weeks on, docs/features.md), so a rule is at full strength from -0.45 and
    # ignores wobbles smaller than -0.05; usage reads the smaller fall of minutes and calls
    decline_start: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.05
    decline_full: Annotated[float, Field(gt=0.0, le=1.0)] = 0.45
    # recent calls drop: the 7-day call rate (in and out) over the 30-day rate; nothing at
    # 0.7 of it, full strength at 0.3 (a seasonal dip of everyone's usage reads ~0.8)
    recent_calls_start_ratio: Annotated[float, Field(gt=0.0, le=1.0)] = 0.7
    recent_calls_full_ratio: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.3
    # ... trusted fully from this many calls a week at the 30-day rate (fewer: a quiet week
    # of a light user is chance), and only with this much history (the windows are filling)
    recent_calls_min_weekly_calls: Positive = 14.0
    recent_calls_min_history_days: Annotated[float, Field(ge=0.0)] = 30.0
    # top-up lapse: days since the last top-up divided by the usual gap
    lapse_start_ratio: Annotated[float, Field(ge=1.0)] = 1.5
    lapse_full_ratio: Annotated[float, Field(gt=1.0)] = 4.0
    default_topup_gap_days: Positive = 30.0  # when fewer than two top-ups were seen
    min_topup_gap_days: Positive = 3.0  # daily top-uppers are not lapsed after 2 days
    # complaints: load = Σ category weight * count + severity weight * severity sum
    #                    + unresolved weight * unresolved; strength = 1 - exp(-load / scale)
    complaint_network_weight: NonNegative = 1.0
    complaint_price_weight: NonNegative = 1.0
    complaint_billing_weight: NonNegative = 0.8
    complaint_technical_weight: NonNegative = 0.7
    complaint_service_weight: NonNegative = 0.6
    complaint_other_weight: NonNegative = 0.4
    complaint_severity_weight: NonNegative = 0.15
    complaint_unresolved_weight: NonNegative = 0.5
    complaint_load_scale: Positive = 3.0
    # dropped calls: share above the baseline, trusted fully from this many calls
    dropped_share_baseline: Share = 0.02
    dropped_share_full: Share = 0.20
    dropped_min_calls_30d: Positive = 10.0
    # off-net share of outgoing minutes above the usual level
    off_net_share_baseline: Share = 0.5
    off_net_share_full: Share = 0.9
    off_net_min_minutes_30d: Positive = 30.0
    # distinct contacts collapsing although the customer used to call out, counted only as
    # far as outgoing calls fell too (30-day over 90-day rate below 1 at start, 0.4 at full):
    # a steady caller with few distinct numbers, or a source without real counterparties,
    # is no signal
    contacts_floor: Positive = 5.0
    contacts_min_prior_calls: Positive = 10.0
    contacts_calls_fall_full_ratio: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.4
    # attribute priors: who the customer is, from published churn studies rather than from
    # any simulated population (contract, tenure, payment method and bundles rank among the
    # strongest predictors); each is neutral (0) when the profile does not say
    no_commitment_weight: NonNegative = 1.0  # month to month: free to leave at any bill
    commitment_ending_weight: NonNegative = 0.8  # a committed term ends within ...
    commitment_ending_days: Positive = 60.0  # ... this many days (terms renew from activation)
    short_tenure_weight: NonNegative = 1.0  # at tenure 0, falling linearly to 0 at ...
    short_tenure_days: Positive = 365.0  # ... this tenure
    manual_payment_weight: NonNegative = 0.5  # times the share of top-ups by voucher or in a shop
    bundle_protection_weight: NonNegative = 0.3  # subtracted per bundled service, up to ...
    bundle_protection_max: Annotated[int, Field(ge=0, le=20)] = 3  # ... this many services

    @model_validator(mode="after")
    def _ranges_ascend(self) -> ColdStartConfig:
        if self.decline_full <= self.decline_start:
            raise ValueError("decline_full must exceed decline_start")
        if self.recent_calls_full_ratio >= self.recent_calls_start_ratio:
            raise ValueError("recent_calls_full_ratio must be below recent_calls_start_ratio")
        if self.lapse_full_ratio <= self.lapse_start_ratio:
            raise ValueError("lapse_full_ratio must exceed lapse_start_ratio")
        if self.dropped_share_full <= self.dropped_share_baseline:
            raise ValueError("dropped_share_full must exceed dropped_share_baseline")
        if self.off_net_share_full <= self.off_net_share_baseline:
            raise ValueError("off_net_share_full must exceed off_net_share_baseline")
        return self


class OnlineModelConfig(BaseModel):
    """The River pipeline: standard scaling, clipping, logistic regression."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # measured with `churnwatch bench models` (docs/learning.md): 0.005 and 0.002 level,
    # 0.01 behind, 0.05 well behind the rules at a 4% positive rate
    learning_rate: Positive = 0.005
    # 0.03: +0.005 ROC AUC over 0.001 on both populations of 2026-12-06 (docs/learning.md)
    l2: NonNegative = 0.03
    scaled_clip: Positive = 5.0  # standardised inputs are clipped to ±this
    # how the weights move: plain SGD, or per-weight steps (AdaGrad, Adam; docs/learning.md)
    optimizer: Literal["sgd", "adagrad", "adam"] = "sgd"
    # the scaler's means and variances weighted like the examples (negatives are learned at
    # weight 1 / negative_learn_share): the population's, not the subsampled stream's
    weighted_scaling: bool = False
    # the rules' log-odds are the model's starting point (a fixed offset of the logit): a
    # model that has learned nothing scores as the rules do, and L2 pulls it back to them
    # (docs/learning.md, "The rules as the starting point")
    rules_offset: bool = True
    # warm = at least this many labels of each class (DESIGN "Cold start")
    min_labels_per_class: Annotated[int, Field(ge=1)] = 100


class ForestConfig(BaseModel):
    """A tree ensemble learned online (River): the nonlinear model, explained by attribution.

    ``kind``: ``arf`` adaptive random forest (Hoeffding trees on random feature subsets,
    with drift detectors), ``amf`` aggregated Mondrian forest (over a running min-max
    scaler), ``bagged_hat`` Oza bagging of Hoeffding adaptive trees. Sizes are chosen for
    the learner's CPU budget (docs/learning.md, "A learner that is not only linear"): a
    learn costs roughly ``n_models`` times one tree's. ``seed`` fixes every random draw,
    so the same examples in the same order give the same model, byte for byte.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["arf", "amf", "bagged_hat"] = "arf"
    n_models: Annotated[int, Field(ge=1, le=50)] = 3
    # Hoeffding trees (arf, bagged_hat): depth limit, examples a leaf sees between split attempts;
    # depth 6 was level with 8 (ROC AUC 0.619 both) at 2/3 of the learning cost (docs/learning.md)
    max_depth: Annotated[int, Field(ge=1, le=50)] | None = 6
    grace_period: Annotated[int, Field(ge=10, le=10_000)] = 200
    # arf: inputs each split considers (None: River's square root of the input count)
    max_features: Annotated[int, Field(ge=1)] | None = None
    # amf: nodes a tree may hold (it grows with every example otherwise)
    max_nodes: Annotated[int, Field(ge=3)] | None = 1_000
    seed: int = 42


class ChallengerConfig(OnlineModelConfig):
    """A second model that learns the same examples in shadow and takes over when its
    recent ROC AUC beats the champion's by ``promotion_auc_margin``.

    ``model``: ``forest`` (the default: the tree ensemble of ``forest``, measured ahead of
    the logistic regression on the comparison, docs/learning.md) or ``logreg`` (a second
    logistic regression with this config's own linear settings, e.g. a learning rate of
    0.002). Both windows are ``LearningConfig.handover_window_examples`` long.
    """

    enabled: bool = True
    model: Literal["logreg", "forest"] = "forest"
    forest: ForestConfig = ForestConfig()
    learning_rate: Positive = 0.002
    promotion_auc_margin: Annotated[float, Field(ge=0.0, le=0.5)] = 0.01

    def online(self) -> OnlineModelConfig:
        """The model's own settings, as the champion's are given."""
        return OnlineModelConfig(**{name: getattr(self, name) for name in OnlineModelConfig.model_fields})


class LearningConfig(BaseModel):
    """Delayed labels, the daily checkpoints and the hand-over from rules to model.

    The version scoring an event-time day D is the checkpoint of day ``D - 1 - version_lag_days``:
    every example resolved before that day ended. The lag is the event-time slack partition
    groups and the learner have before a scorer must wait for them: in a replay a day
    passes in about a second, so one day of slack made every group wait at every day
    (docs/learning.md). Labels are 33 days old when learned, and every day of lag makes the
    scoring versions a day staler: at 2 days instead of 14 the online model's snapshot-level
    ROC AUC rose from 0.709 to 0.735 (4,000 customers x 180 days, docs/evaluation.md).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    horizon_days: Annotated[int, Field(ge=1, le=365)] = 30  # churn within (t, t + H] is positive
    # snapshots of customers seen for fewer days are not learned from (nor judged): their
    # windows are still filling, so early in a stream they look alike whatever follows, and
    # a model learned from them ranked later snapshots worse than chance (docs/learning.md)
    min_history_days: Annotated[float, Field(ge=0)] = 30.0
    version_lag_days: Annotated[int, Field(ge=0, le=60)] = 2
    # the model takes over once its AUC on the last N examples beats the rules' on the same
    # ones by this margin (and it learned min_labels_per_class of each class) ...
    handover_window_examples: Annotated[int, Field(ge=100)] = 10_000
    handover_auc_margin: Annotated[float, Field(ge=0.0, le=0.5)] = 0.0
    # ... and its share of each score rises from 1/N to 1 over N daily checkpoints
    handover_days: Annotated[int, Field(ge=1, le=90)] = 7
    # after the hand-over, the rules take charge again when the model's AUC on the same
    # window falls below theirs by this margin (a later hand-over may follow)
    fallback_auc_margin: Annotated[float, Field(ge=0.0, le=0.5)] = 0.02
    # score resolution of the prequential metrics, cumulative and windows: scores closer than
    # this tie in the ROC AUC (at most 10,001 bins, so a checkpoint's metrics take milliseconds;
    # windows at 1e-6 held 4x the bins and made the learner's day 60 ms instead of 10)
    metrics_resolution: Annotated[float, Field(gt=0.0, le=0.01)] = 1e-4
    # ADWIN on the model's per-example log loss: smaller = fewer, surer drift signals
    drift_delta: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.002
    checkpoints_kept: Annotated[int, Field(ge=2)] = 45  # daily checkpoints kept in Redis
    # negatives the models learn from (positives always), drawn by a hash of the example id
    # and learned with weight 1 / share, so the gradient keeps its expectation; every example
    # still counts in the metrics. ~3% of examples are positive: at 0.5 the models learn
    # about half of them (docs/learning.md, "A share of the negatives")
    negative_learn_share: Annotated[float, Field(gt=0.0, le=1.0)] = 0.5


class ScoringConfig(BaseModel):
    """Everything ``models/`` needs; composed into the worker settings by ``streams/``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rules: ColdStartConfig = ColdStartConfig()
    online: OnlineModelConfig = OnlineModelConfig()
    learning: LearningConfig = LearningConfig()
    challenger: ChallengerConfig = ChallengerConfig()
    max_reasons: Annotated[int, Field(ge=1, le=10)] = 3
    min_reason_weight: NonNegative = 0.05  # logit units; weaker signals are not worth a line
