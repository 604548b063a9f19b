"""The one learner: resolved examples in, one checkpoint per event-time day out.

DESIGN "Model versions move in event time": checkpoint ``R`` is the model after learning
every example resolved on or before day ``R``. Examples reach ``churn.training`` from
every partition group in whatever order the groups happen to run, so the learner holds a
day's examples until every group it knows has said it resolved that day (``ResolvedDay``),
then learns them sorted by example id. The checkpoint therefore depends on the examples
alone: a replay, a restart or a rebalance builds the same one.

Prequential order: each example first updates the metrics with the scores made at
snapshot time (the model's, the rules', the one used); then, for every positive and the
share of negatives a hash of the example id draws (``negative_learn_share``, learned with
weight ``1 / share``), the champion's and the challenger's scores of its inputs now go to
their windows (``models.challenger``) and both learn from it. Every example counts in the
snapshot-time metrics; about half the learning work is spared (~3% are positive).
Once a day, in event time, the challenger may be promoted and the rules may take charge
again from a model that fell behind them, so a replay decides both on the same days.
The learner knows how many partition groups there are: until each has sent its first
``ResolvedDay`` (on its first tick), it checkpoints only the days before the first
example any group could have (the first start plus the minimum history and the label
delay): a group that started late could otherwise still resolve days already
checkpointed (a live run learned 23 examples on a day where a replay learned 53). A
partition with no traffic at all holds the checkpoints after that. An example for a day
already checkpointed from a group not heard of is learned with the next day instead
(counted).
"""

from __future__ import annotations

import hashlib
import logging
import pickle
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel
from river import drift

from models.challenger import Challenger, challenger_model
from models.churn_model import ChurnModel
from models.config import ScoringConfig
from models.labels import INPUT_NAMES
from models.metrics_snapshot import MetricsSnapshot
from models.online import MODEL_FAMILY, OnlineModel, inputs_from_stored, with_rules
from models.prequential import PrequentialMetrics, example_loss
from models.risk_scale import RiskScale
from schemas.event_days import day_date, day_number
from schemas.outputs import ResolvedDay, TrainingExample

log = logging.getLogger(__name__)
SettingsModel = TypeVar("SettingsModel", bound=BaseModel)


@dataclass(frozen=True)
class Checkpoint:
    """The model after every example resolved up to the end of ``day``, and how it did."""

    day: int
    model: ChurnModel
    model_weight: float  # the model's share of each score (0: rules only)
    handover_day: int | None  # the first day of the current hand-over (None: the rules are in charge)
    examples_learned: int  # examples taken in: all count in the metrics, the models learn a share
    learned_today: int
    late_examples: int  # learned with a later day than they were resolved on
    drifts: int  # ADWIN detections on the model's log loss so far
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    risk_scale: RiskScale | None = None  # the model's scores on the rules' scale, once it has a share
    challenger: str | None = None  # the configuration learning in shadow (None: no challenger)
    promotions: int = 0  # challengers promoted so far
    fallbacks: int = 0  # times the rules took charge again from a model behind them

    @property
    def champion(self) -> str:
        """The configuration of the model this checkpoint carries, e.g. ``logreg-lr0.005``."""
        return self.model.name

    @property
    def version(self) -> str:
        """``river-logreg-<day>-n<examples>``: names the day and the state exactly."""
        return f"{MODEL_FAMILY}-{day_date(self.day).isoformat()}-n{self.examples_learned}"

    def summary(self) -> dict[str, Any]:
        """Everything but the model, as plain JSON types (for logs, pages and the status command)."""
        return {
            "day": day_date(self.day).isoformat(),
            "version": self.version,
            "model_weight": self.model_weight,
            "handover_day": None if self.handover_day is None else day_date(self.handover_day).isoformat(),
            "examples_learned": self.examples_learned,
            "learned_today": self.learned_today,
            "late_examples": self.late_examples,
            "drifts": self.drifts,
            "champion": self.champion,
            "challenger": self.challenger,
            "promotions": self.promotions,
            "fallbacks": self.fallbacks,
            "risk_scale_points": None if self.risk_scale is None else len(self.risk_scale.model_points),
            "metrics": self.metrics,
        }

    def to_bytes(self) -> bytes:
        return pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)

    @staticmethod
    def from_bytes(data: bytes) -> Checkpoint:
        checkpoint = pickle.loads(data)
        if not isinstance(checkpoint, Checkpoint):
            raise TypeError(f"not a checkpoint: {type(checkpoint).__name__}")
        return checkpoint


class DailyLearner:
    """Buffers resolved examples per day and learns each day once every group has resolved it.

    >>> from datetime import date
    >>> learner = DailyLearner()
    >>> learner.mark(ResolvedDay(partition=0, resolved_on=date(2026, 1, 1), examples=0))
    >>> [checkpoint.version for checkpoint in learner.finalize_ready()]
    ['river-logreg-2026-01-01-n0']
    """

    def __init__(
        self,
        config: ScoringConfig | None = None,
        partition_groups: int | None = None,
        first_example_after_days: int = 0,
    ) -> None:
        self.config = config or ScoringConfig()
        # every group must have spoken before a day this far after the first one is complete
        # (None: the groups heard of); earlier days cannot hold a late group's examples
        self.partition_groups = partition_groups
        self.first_example_after_days = first_example_after_days
        self.first_day: int | None = None  # the earliest day any group said it started from
        learning = self.config.learning
        self.model: ChurnModel = OnlineModel(self.config)
        window, resolution = learning.handover_window_examples, learning.metrics_resolution
        self.metrics = {
            "model": PrequentialMetrics(resolution=resolution),
            "rules": PrequentialMetrics(resolution=resolution),
            "used": PrequentialMetrics(resolution=resolution),
            "model_recent": PrequentialMetrics(window, resolution),
            "rules_recent": PrequentialMetrics(window, resolution),
        }
        self.drift: Any = drift.ADWIN(delta=learning.drift_delta)  # type: ignore[no-untyped-call]
        self.drifts = 0
        self.challenger = self._new_challenger()
        self.fallbacks = 0
        self.groups: dict[int, int] = {}  # partition group -> last day it resolved
        self.last_day: int | None = None  # last day checkpointed
        self.handover_day: int | None = None
        self.late_examples = 0
        self._buffer: dict[int, dict[str, TrainingExample]] = {}

    def learned_before(self, example: TrainingExample) -> bool:
        """Whether this example's day is checkpointed already (a replayed or republished copy)."""
        return self.last_day is not None and day_number(example.resolved_on) <= self.last_day

    def offer(self, example: TrainingExample) -> bool:
        """Hold an example for its day; False if it was learned already (or is held already)."""
        day = day_number(example.resolved_on)
        if self.learned_before(example):
            # a group's day is complete before its ResolvedDay, so a copy of a learned day is a replay
            if example.partition not in self.groups:
                assert self.last_day is not None
                self.late_examples += 1
                day = self.last_day + 1
            else:
                return False
        held = self._buffer.setdefault(day, {})
        if example.example_id in held:
            return False
        held[example.example_id] = example
        return True

    def mark(self, resolved: ResolvedDay) -> None:
        """A group resolved a day: every example it resolves on that day was published before."""
        day = day_number(resolved.resolved_on)
        self.groups[resolved.partition] = max(day, self.groups.get(resolved.partition, day))
        self.first_day = day if self.first_day is None else min(self.first_day, day)

    def ready_days(self) -> list[int]:
        """Days every known group has resolved and no checkpoint covers yet, in order."""
        if not self.groups:
            return []
        complete = min(self.groups.values())
        if self.partition_groups is not None and len(self.groups) < self.partition_groups:
            # a group that has not started yet resolves nothing before its start plus the
            # history and label delay: days up to then are complete without it
            assert self.first_day is not None
            # two days short: a start mark names the day before the first tick, and a customer
            # seen from that day's first minute reaches the history a day's end early
            complete = min(complete, self.first_day + self.first_example_after_days - 2)
        if self.last_day is None:
            return [complete]
        return list(range(self.last_day + 1, complete + 1))

    def finalize_ready(self) -> list[Checkpoint]:
        return [self.finalize(day) for day in self.ready_days()]

    def finalize(self, day: int) -> Checkpoint:
        """Learn the day's examples (and any held for earlier days) in id order; checkpoint."""
        examples: list[TrainingExample] = []
        for held_day in sorted(d for d in self._buffer if d <= day):
            examples.extend(self._buffer.pop(held_day).values())
        examples.sort(key=lambda example: example.example_id)
        for example in examples:
            self._learn(example)
        self.last_day = day
        snapshots = {name: metrics.snapshot() for name, metrics in self.metrics.items()}
        challenger = self.challenger
        if challenger is not None:
            champion, leading = challenger.champion_window.snapshot(), challenger.window.snapshot()
            if self._promote(day, leading, champion):
                champion, leading = leading, champion  # the windows went with their models
            snapshots["champion_shadow"], snapshots["challenger"] = champion, leading
        self._fall_back(day, snapshots["model_recent"], snapshots["rules_recent"])
        self._hand_over(day, snapshots["model_recent"], snapshots["rules_recent"])
        weight = self.model_weight(day)
        return Checkpoint(
            day=day,
            model=pickle.loads(pickle.dumps(self.model)),
            model_weight=weight,
            handover_day=self.handover_day,
            examples_learned=self.metrics["model"].examples,
            learned_today=len(examples),
            late_examples=self.late_examples,
            drifts=self.drifts,
            metrics={name: snapshot.to_dict() for name, snapshot in snapshots.items()},
            risk_scale=self._risk_scale() if weight > 0 else None,
            challenger=None if challenger is None else challenger.model.name,
            promotions=0 if challenger is None else challenger.promotions,
            fallbacks=self.fallbacks,
        )

    def _risk_scale(self) -> RiskScale | None:
        """The champion's probabilities mapped to the rules' scale, fitted on its own scores.

        Until a promotion, those are the snapshot-time scores of the hand-over window, as the
        model in charge made them. After one, that window holds the previous champion's for
        the version lag plus the label delay (~48 days), so the map is fitted on the
        champion's learn-time scores of the same recent examples instead: its own
        distribution at once.
        """
        rules = self.metrics["rules_recent"]
        if self.challenger is not None and self.challenger.promotions > 0:
            return RiskScale.fit(self.challenger.champion_window, rules)
        return RiskScale.fit(self.metrics["model_recent"], rules)

    def _learn(self, example: TrainingExample) -> None:
        label, weight = example.churned, example.weight
        self.metrics["model"].update(example.model_score, label, weight)
        self.metrics["rules"].update(example.rules_score, label, weight)
        self.metrics["used"].update(example.score, label, weight)
        self.metrics["model_recent"].update(example.model_score, label, weight)
        self.metrics["rules_recent"].update(example.rules_score, label, weight)
        self.drift.update(example_loss(example.model_score, label))
        if self.drift.drift_detected:
            self.drifts += 1
            log.warning(
                "drift in the model's log loss after %d examples (ADWIN, mean now %.4f)",
                self.model.n_learned,
                self.drift.estimation,
            )
        if not label:
            share = self.config.learning.negative_learn_share
            if not learns_negative(example.example_id, share):
                return
            weight /= share
        stored = {name: example.features.get(name, 0.0) for name in INPUT_NAMES}
        inputs = with_rules(inputs_from_stored(stored), example.rules_score)
        challenger = self.challenger
        if challenger is not None:
            challenger.judge(self.model, inputs, label, weight)  # before either model learns
        self.model.learn_inputs(inputs, label, weight)
        if challenger is not None:
            challenger.learn(inputs, label, weight)

    def _new_challenger(self) -> Challenger | None:
        if not self.config.challenger.enabled:
            return None
        learning = self.config.learning
        return Challenger(
            challenger_model(self.config), learning.handover_window_examples, learning.metrics_resolution
        )

    def _promote(self, day: int, leading: MetricsSnapshot, champion: MetricsSnapshot) -> bool:
        """Swap champion and challenger the day the challenger leads by the margin (given the
        snapshots of its window and the champion's); whether they swapped."""
        challenger = self.challenger
        assert challenger is not None
        margin = self.config.challenger.promotion_auc_margin
        if not challenger.leads(leading, champion, margin, self.config.online.min_labels_per_class):
            return False
        demoted = self.model.name
        self.model = challenger.swap(self.model)
        log.warning(
            "challenger %s promoted over %s on %s: recent ROC AUC %.4f vs %.4f over %d examples",
            self.model.name,
            demoted,
            day_date(day).isoformat(),
            leading.roc_auc,
            champion.roc_auc,
            leading.examples,
        )
        return True

    def _fall_back(self, day: int, model: MetricsSnapshot, rules: MetricsSnapshot) -> None:
        """Give the rules charge again the day the model in charge falls behind them by the
        margin on the hand-over window (snapshot-time scores: what was actually used)."""
        if self.handover_day is None or model.roc_auc is None or rules.roc_auc is None:
            return
        if min(self.metrics["model_recent"].label_counts()) < self.config.online.min_labels_per_class:
            return
        if model.roc_auc < rules.roc_auc - self.config.learning.fallback_auc_margin:
            self.handover_day = None
            self.fallbacks += 1
            log.warning(
                "the rules take charge again on %s: the model's recent ROC AUC %.4f vs the rules' %.4f"
                " over %d examples",
                day_date(day).isoformat(),
                model.roc_auc,
                rules.roc_auc,
                model.examples,
            )

    def _hand_over(self, day: int, model: MetricsSnapshot, rules: MetricsSnapshot) -> None:
        """Start the hand-over the first day the model is warm and beats the rules recently.

        Beating the rules means ranking better than they do *and* better than chance: before
        the model has learned, its snapshot-time scores are all 0.5 (ROC AUC exactly 0.5), and
        in a replay of 2,000 customers x 240 days the rules' window once read 0.48, which
        handed the customers to a model that could not yet rank them.
        """
        if self.handover_day is not None or not self.model.is_warm():
            return
        if model.roc_auc is None or rules.roc_auc is None:
            return
        if model.roc_auc > max(rules.roc_auc, 0.5) + self.config.learning.handover_auc_margin:
            self.handover_day = day
            log.warning(
                "the online model takes over from the rules: recent ROC AUC %.4f vs %.4f over %d examples",
                model.roc_auc,
                rules.roc_auc,
                model.examples,
            )

    def model_weight(self, day: int) -> float:
        """The model's share on ``day``: 0 while the rules are in charge, then rising to 1 over
        the hand-over days from the start of the current hand-over."""
        if self.handover_day is None:
            return 0.0
        steps = day - self.handover_day + 1
        return min(1.0, steps / self.config.learning.handover_days)

    def snapshot(self, name: str) -> MetricsSnapshot:
        return self.metrics[name].snapshot()

    def __getstate__(self) -> dict[str, Any]:
        """Held examples are left out: they are read again from the topic after a restart."""
        state = dict(self.__dict__)
        state["_buffer"] = {}
        return state



def learns_negative(example_id: str, share: float) -> bool:
    """Whether the models learn this negative example: a fixed share of the example ids,
    drawn from a hash of the id, so every replay, restart and learner draws alike.

    >>> sum(learns_negative(f"c{i}", 0.25) for i in range(10_000)), learns_negative("c1", 1.0)
    (2516, True)
    """
    if share >= 1.0:
        return True
    draw = int.from_bytes(hashlib.blake2b(example_id.encode(), digest_size=4).digest(), "big")
    return draw < share * 0x1_0000_0000
