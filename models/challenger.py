"""The challenger: a second online model that learns the same examples in shadow and takes
over from the champion when its recent ROC AUC is ahead by a margin.

The challenger may be of another kind than the champion (by default a tree ensemble beside
the logistic regression, ``models.forest``): both are ``ChurnModel``s.

The comparison is prequential and fair: for each example, before either model learns it,
both score its stored inputs as they are then (learn time), and each score goes into that
model's window of the last N examples. The champion's own snapshot-time score would not
do: it was made by a checkpoint older by the version lag and the label delay, and would
lose to any model scored with everything learned since.

Each window belongs to its model and goes with it when the two swap places: the new
champion's window holds its own recent scores at once (what the risk scale is fitted on
after a promotion), and a swap back needs the margin again over a whole window, so two
models level with each other do not take turns on the noise of a few days' labels.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from models.churn_model import ChurnModel
from models.config import ScoringConfig
from models.forest import ForestModel
from models.metrics_snapshot import MetricsSnapshot
from models.online import OnlineModel
from models.prequential import PrequentialMetrics

log = logging.getLogger(__name__)


def challenger_model(config: ScoringConfig) -> ChurnModel:
    """A fresh model with the challenger's settings (and every other setting of ``config``):
    the tree ensemble of ``challenger.forest``, or a logistic regression with the challenger's
    linear settings.

    >>> challenger_model(ScoringConfig()).name
    'arf-n3-d6-g200'
    >>> challenger_model(ScoringConfig(challenger={"model": "logreg"})).name
    'logreg-lr0.002'
    """
    if config.challenger.model == "forest":
        return ForestModel(config, config.challenger.forest)
    return OnlineModel(config.model_copy(update={"online": config.challenger.online()}))


class Challenger:
    """The model in shadow and the two windows it is judged on against the champion."""

    def __init__(self, model: ChurnModel, window_examples: int, resolution: float) -> None:
        self.model = model
        # scores quantised like the cumulative metrics (1e-4): a window of 10,000 learn-time
        # scores then reads in ~1 ms a day instead of ~12 ms, and both are quantised alike
        self.window = PrequentialMetrics(window_examples, resolution)  # the challenger's learn-time scores
        self.champion_window = PrequentialMetrics(window_examples, resolution)  # the champion's
        self.promotions = 0

    def judge(self, champion: ChurnModel, inputs: Mapping[str, float], label: bool, weight: float) -> None:
        """Both models score one example before either learns it (call before learning)."""
        self.champion_window.update(champion.probability_of_inputs(inputs), label, weight)
        self.window.update(self.model.probability_of_inputs(inputs), label, weight)

    def learn(self, inputs: dict[str, float], label: bool, weight: float) -> None:
        self.model.learn_inputs(inputs, label, weight)

    def leads(
        self,
        challenger: MetricsSnapshot,
        champion: MetricsSnapshot,
        margin: float,
        min_labels_per_class: int,
    ) -> bool:
        """Whether the windows (snapshots of ``window`` and ``champion_window``) hold enough
        labels of each class and the challenger's ROC AUC beats the champion's by ``margin``."""
        if min(self.window.label_counts()) < min_labels_per_class:
            return False  # both windows hold the same examples
        if challenger.roc_auc is None or champion.roc_auc is None:
            return False
        return challenger.roc_auc > champion.roc_auc + margin

    def swap(self, champion: ChurnModel) -> ChurnModel:
        """Promote: the challenger becomes the champion (returned); the champion, with its
        window, becomes the challenger and keeps learning."""
        promoted = self.model
        self.model = champion
        self.window, self.champion_window = self.champion_window, self.window
        self.promotions += 1
        return promoted
