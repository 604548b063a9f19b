"""The learning path on the scenario's reference run: examples resolved, learned, checkpointed,
and the prequential AUC the pipeline reports equals one computed from the outputs and the truth."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sklearn.metrics import roc_auc_score

from models.config import LearningConfig
from models.labels import resolution_delay_days
from models.learner import learns_negative
from schemas.event_days import DAY_S, day_of
from tests.fixtures.scenario import LEARNING, Scenario

pytestmark = pytest.mark.integration
HORIZON = timedelta(days=int(LEARNING["CHURNWATCH_SCORING__LEARNING__HORIZON_DAYS"]))
LATENESS_DAYS = 3.0
MIN_HISTORY_DAYS = float(LEARNING["CHURNWATCH_SCORING__LEARNING__MIN_HISTORY_DAYS"])


def churn_times(scenario: Scenario) -> dict[str, list[datetime]]:
    """Ground truth from the simulated events: each customer's port-outs and deactivations."""
    churns: dict[str, list[datetime]] = {}
    for event in scenario.events:
        if event.get("type") == "lifecycle" and event.get("kind") in ("port_out", "deactivated"):
            moment = datetime.fromisoformat(str(event["event_time"]).replace("Z", "+00:00"))
            churns.setdefault(str(event["customer_id"]), []).append(moment)
    return churns


class TestLearningPath:
    def test_examples_are_learned_and_checkpointed_every_day(self, scenario: Scenario) -> None:
        """After the first horizon the learner checkpoints every day, with examples learned."""
        reference = scenario.reference
        assert reference.checkpoints, "no checkpoint written"
        days = sorted(reference.checkpoints)
        assert days == list(range(days[0], days[-1] + 1)), "a day without its checkpoint"
        assert reference.last_checkpoint["examples_learned"] > 1000
        versions = [version for version, _, _ in reference.checkpoints.values()]
        assert len(set(versions)) > 10, "the model did not change from day to day"

    def test_a_challenger_is_judged_beside_the_champion(self, scenario: Scenario) -> None:
        """The checkpoint names both configurations, and both shadow windows hold the same
        recent examples the models learned (the whole window, or everything learned while it
        is filling): every positive and the negatives the example ids draw."""
        last = scenario.reference.last_checkpoint
        assert {last["champion"], last["challenger"]} == {"logreg-lr0.005", "arf-n3-d6-g200"}
        assert last["champion"] == ("arf-n3-d6-g200" if last["promotions"] % 2 else "logreg-lr0.005")
        window = int(LEARNING["CHURNWATCH_SCORING__LEARNING__HANDOVER_WINDOW_EXAMPLES"])
        share = LearningConfig().negative_learn_share
        examples = scenario.reference.examples
        learned = [churned for id_, churned in examples.items() if churned or learns_negative(id_, share)]
        assert 0 < len(learned) < len(examples) == last["examples_learned"]
        shadow, challenger = last["metrics"]["champion_shadow"], last["metrics"]["challenger"]
        assert shadow["examples"] == challenger["examples"] == min(window, len(learned))
        assert shadow["positive_weight"] == challenger["positive_weight"]

    def test_reported_auc_matches_one_computed_from_predictions_and_truth(self, scenario: Scenario) -> None:
        """Labels and the prequential ROC AUC, checked from the outputs and the simulator's events:

        every resolved snapshot old enough and of a customer seen long enough was learned
        (up to the 6-digit rounding of the published history), with the label the truth
        gives; sklearn's ROC AUC of the published scores on those examples is the pipeline's.
        """
        reference = scenario.reference
        last_day = max(reference.checkpoints)
        delay = resolution_delay_days(int(HORIZON.total_seconds() // DAY_S), LATENESS_DAYS)
        churns = churn_times(scenario)
        learned = reference.examples
        scores, labels = [], []
        for snapshot_id, (customer_id, moment, history_days) in reference.snapshot_times.items():
            truth = any(moment < churn <= moment + HORIZON for churn in churns.get(customer_id, []))
            resolved = day_of(moment) + delay <= last_day
            if not resolved or history_days < MIN_HISTORY_DAYS - 1e-3:
                assert snapshot_id not in learned
                continue
            if history_days > MIN_HISTORY_DAYS + 1e-3:
                assert snapshot_id in learned, f"{customer_id} at {moment} was not learned"
            if snapshot_id in learned:
                assert learned[snapshot_id] == truth, f"{customer_id} at {moment}: wrong label"
                scores.append(reference.snapshots[snapshot_id][0])
                labels.append(truth)
        metrics = reference.last_checkpoint["metrics"]["used"]
        assert metrics["examples"] == len(scores) == len(learned)
        assert len(learned) == reference.last_checkpoint["examples_learned"]
        assert sum(labels) >= 5, "too few churners to judge a ranking"
        assert metrics["positive_weight"] == sum(labels)
        assert metrics["roc_auc"] == pytest.approx(roc_auc_score(labels, scores), abs=2e-3)
