"""Output contracts: what Churnwatch publishes for the retention team and operators."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

Probability = Annotated[float, Field(ge=0.0, le=1.0)]


class Zone(StrEnum):
    """Warning zones from the operators' playbooks, in rising order of risk."""

    WHITE = "white"  # not enough history to judge
    BLUE = "blue"
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"

    @property
    def rank(self) -> int:
        """Position in the risk order, so zones compare by risk.

        >>> Zone.RED.rank > Zone.YELLOW.rank > Zone.WHITE.rank
        True
        """
        return _ZONE_ORDER.index(self)


_ZONE_ORDER = [Zone.WHITE, Zone.BLUE, Zone.GREEN, Zone.YELLOW, Zone.RED]


class ValueTier(StrEnum):
    """Customer value from rolling 90-day revenue; high tiers get one-to-one care."""

    KEY = "key"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    UNPROFITABLE = "unprofitable"


class ScoreSource(StrEnum):
    """Where a score came from: transparent playbook rules until the model has learned enough."""

    COLD_START_RULES = "cold_start_rules"
    ONLINE_MODEL = "online_model"
    BLEND = "blend"  # during the hand-over window: rules and model mixed, the model's share rising


class DeadLetterReason(StrEnum):
    NOT_UTF8 = "not_utf8"
    NOT_JSON = "not_json"
    TOO_LARGE = "too_large"
    INVALID_SCHEMA = "invalid_schema"
    UNKNOWN_TYPE = "unknown_type"
    TOO_LATE = "too_late"
    DUPLICATE = "duplicate"
    KEY_MISMATCH = "key_mismatch"
    IMPLAUSIBLE_TIME = "implausible_time"


class OutputRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Reason(OutputRecord):
    """One signal behind a score, in words a retention agent understands."""

    code: Annotated[str, Field(min_length=1, max_length=64)]
    text: Annotated[str, Field(min_length=1, max_length=200)]
    weight: Annotated[float, Field(ge=0.0)]


class RecommendedAction(OutputRecord):
    code: Annotated[str, Field(min_length=1, max_length=64)]
    text: Annotated[str, Field(min_length=1, max_length=300)]
    channel: Annotated[str, Field(min_length=1, max_length=32)]


class Alert(OutputRecord):
    """A retention alert; ``alert_id`` is deterministic so a replay produces the same id."""

    alert_id: Annotated[str, Field(min_length=1, max_length=64)]
    customer_id: Annotated[str, Field(min_length=1, max_length=64)]
    event_time: AwareDatetime
    created_at: AwareDatetime
    score: Probability
    zone: Zone
    previous_zone: Zone
    value_tier: ValueTier
    value_at_risk: Annotated[float, Field(ge=0.0)]
    priority: Annotated[float, Field(ge=0.0)]
    reasons: tuple[Reason, ...]
    recommended_action: RecommendedAction
    model_version: Annotated[str, Field(min_length=1, max_length=64)]
    score_source: ScoreSource


class DeadLetter(OutputRecord):
    """A rejected input: the original bytes (base64), why, and where it came from.

    Originals longer than 64 KiB are cut to their first 64 KiB (``original_truncated``),
    keys to their first 1 KiB (``original_key_truncated``); the sizes are always the full
    sizes, and the source position finds the rest. A record that met the contract but was
    rejected for another reason (late, duplicate, wrong key, implausible time) carries its
    parsed form with the counterparty pseudonymised instead (``original_pseudonymised``),
    so no phone number of a valid record reaches this topic.
    """

    reason: DeadLetterReason
    detail: Annotated[str, Field(max_length=500)]
    source_topic: str
    source_partition: Annotated[int, Field(ge=0)]
    source_offset: Annotated[int, Field(ge=0)]
    original_key_b64: str | None
    original_value_b64: str
    original_size: Annotated[int, Field(ge=0)]
    original_truncated: bool = False
    original_key_size: Annotated[int, Field(ge=0)] = 0
    original_key_truncated: bool = False
    original_pseudonymised: bool = False
    rejected_at: AwareDatetime


class Prediction(OutputRecord):
    """A scored snapshot kept for learning (at most one per customer per event-time day).

    ``event_time`` is the last microsecond of the day; ``silent_days`` is 0 for a customer
    seen that day, else the silence threshold reached; ``features`` leaves out zeros.
    """

    snapshot_id: str
    customer_id: str
    event_time: AwareDatetime
    features: dict[str, float]
    score: Probability
    model_version: str
    score_source: ScoreSource
    silent_days: Annotated[int, Field(ge=0)] = 0


class TrainingExample(OutputRecord):
    """A resolved snapshot on ``churn.training``: its inputs, its label and the scores made at
    snapshot time (the used one, the model's and the rules'), for prequential metrics.

    ``example_id`` is the snapshot's id, so a redone resolution publishes the same example;
    ``resolved_on`` is the event-time day whose checkpoint learns it.
    """

    kind: Literal["example"] = "example"
    example_id: str
    customer_id: str
    partition: Annotated[int, Field(ge=0)]
    snapshot_time: AwareDatetime
    resolved_on: date
    churned: bool
    churn_time: AwareDatetime | None
    features: dict[str, float]
    score: Probability
    score_source: ScoreSource
    model_version: str
    model_score: Probability
    rules_score: Probability
    silent_days: Annotated[int, Field(ge=0)] = 0
    weight: Annotated[float, Field(gt=0.0)] = 1.0


class ResolvedDay(OutputRecord):
    """A partition group has published every example it resolves on ``resolved_on``.

    The learner builds a day's checkpoint once every partition group it knows has said so.
    """

    kind: Literal["resolved_day"] = "resolved_day"
    partition: Annotated[int, Field(ge=0)]
    resolved_on: date
    examples: Annotated[int, Field(ge=0)]


class CapacityLane(OutputRecord):
    """How one budget of a partition group was spent on an event-time day.

    ``lane`` is ``all`` or a value tier with a budget of its own. Bars are priorities:
    ``opening_bar`` is the one the recent days set for the whole budget (None: no
    history yet), ``lowest_bar``/``highest_bar`` the range applied to the day's
    candidates (None: no candidate; -1: no budget left, everything held).
    """

    lane: Annotated[str, Field(min_length=1, max_length=32)]
    budget: Annotated[int, Field(ge=0)]
    candidates: Annotated[int, Field(ge=0)]
    sent: Annotated[int, Field(ge=0)]
    held_back: Annotated[int, Field(ge=0)]
    opening_bar: Annotated[float, Field(ge=-1.0)] | None
    lowest_bar: Annotated[float, Field(ge=-1.0)] | None
    highest_bar: Annotated[float, Field(ge=-1.0)] | None


class CapacityDay(OutputRecord):
    """A partition group's daily capacity summary on ``retention.capacity``, once its day closed.

    ``summary_id`` is deterministic (group, day), so a replay publishes the same record.
    The group's budgets are its share of the deployment's (``partition`` of ``partitions``);
    a day's deployment totals are the sums over its groups.
    """

    kind: Literal["capacity_day"] = "capacity_day"
    summary_id: Annotated[str, Field(min_length=1, max_length=64)]
    partition: Annotated[int, Field(ge=0)]
    partitions: Annotated[int, Field(ge=1)]
    day: date
    sent: Annotated[int, Field(ge=0)]
    held_back: Annotated[int, Field(ge=0)]
    lanes: tuple[CapacityLane, ...]
