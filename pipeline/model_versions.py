"""Which model version scores an event-time day, as scorers see it: loaded from Redis, cached.

DESIGN "Model versions move in event time": day ``D`` is scored with the checkpoint of day
``D - 1 - version_lag_days``, whatever the learner has done since, so a replay, a restart
and a rebalance score alike. A version the learner has not written yet is waited for:
``scorer_for`` answers None and the caller tries again later, without holding anything
up but that partition group. After ``wait_s`` (wall clock) the newest version there is
scores instead, counted and logged, since a stalled pipeline is worse than a version a
day old; only then can scores differ from a replay's.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable

from models.cold_start import ColdStartRules
from models.config import ScoringConfig
from models.learner import Checkpoint
from models.online import OnlineModel
from models.routing import VersionScorer
from store.checkpoints import CheckpointStore
from streams.metrics import PipelineMetrics

log = logging.getLogger(__name__)
CACHED_VERSIONS = 4
RECHECK_S = 0.05  # a version not written yet is looked for again at most this often


class ModelVersions:
    """The scorer of each event-time day, hot-swapped as days pass, never newer than allowed."""

    def __init__(
        self,
        store: CheckpointStore,
        config: ScoringConfig,
        metrics: PipelineMetrics,
        wait_s: float = 60.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._config = config
        self._metrics = metrics
        self._wait_s = wait_s
        self._monotonic = monotonic
        self._rules = ColdStartRules(config)
        self.untrained = VersionScorer(self._rules, OnlineModel(config), 0.0, "untrained")
        self._cache: OrderedDict[int, VersionScorer] = OrderedDict()
        self._waiting_since: dict[int, float] = {}
        self._in_use: tuple[str, str] | None = None
        self._missing: tuple[int, float] | None = None  # a day looked for in vain, and when

    def version_day(self, day: int) -> int:
        """The checkpoint day that scores event-time ``day``."""
        return day - 1 - self._config.learning.version_lag_days

    async def scorer_for(self, day: int) -> VersionScorer | None:
        """The scorer of event-time ``day``, or None while its version is not written yet."""
        needed = self.version_day(day)
        cached = self._cache.get(needed)
        if cached is not None:
            return cached
        missing = self._missing
        if (
            missing is not None
            and missing[0] <= needed
            and needed in self._waiting_since
            and self._monotonic() - missing[1] < RECHECK_S
        ):
            return None
        first, last = await self._store.bounds()
        if last is not None and needed <= last:
            scorer = await self._checkpointed(needed, first)
            outcome = "ready" if needed not in self._waiting_since else "waited"
        else:
            started = self._waiting_since.setdefault(needed, self._monotonic())
            if self._monotonic() - started < self._wait_s:
                self._missing = (needed if last is None else last + 1, self._monotonic())
                return None
            scorer = await self._checkpointed(last, first) if last is not None else self.untrained
            outcome = "timeout"
            log.warning(
                "model version of day %d not written after %.0f s (learner behind?): scoring with %s",
                needed,
                self._wait_s,
                scorer.model_version,
            )
        if needed in self._waiting_since:
            waited = self._monotonic() - self._waiting_since.pop(needed)
            self._metrics.model_version_wait_seconds.observe(waited)
        self._metrics.model_version_loads.labels(outcome).inc()
        self._cache[needed] = scorer
        while len(self._cache) > CACHED_VERSIONS:
            self._cache.popitem(last=False)
        self._show(scorer)
        return scorer

    async def _checkpointed(self, day: int, first: int | None) -> VersionScorer:
        if first is not None and day < first:
            return self.untrained  # before the learner's first day: nothing was resolved yet
        checkpoint = await self._store.load(day)
        if checkpoint is None:
            log.warning("checkpoint of day %d is no longer kept: scoring with the rules", day)
            return self.untrained
        return self.scorer(checkpoint)

    def scorer(self, checkpoint: Checkpoint) -> VersionScorer:
        return VersionScorer(
            self._rules, checkpoint.model, checkpoint.model_weight, checkpoint.version, checkpoint.risk_scale
        )

    def _show(self, scorer: VersionScorer) -> None:
        """The version in use on ``/metrics`` (one series at a time)."""
        source = (
            "cold_start_rules"
            if scorer.model_weight == 0.0
            else ("online_model" if scorer.model_weight == 1.0 else "blend")
        )
        labels = (scorer.model_version, source)
        if labels == self._in_use:
            return
        if self._in_use is not None:
            self._metrics.model_version.remove(*self._in_use)
        self._metrics.model_version.labels(*labels).set(1)
        self._in_use = labels
