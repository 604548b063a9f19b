"""What came of the retention team's contact with a customer, recorded from the queue page.

Stored on Redis like the suppression list: one hash per deployment
(``{prefix}:outcomes``: customer id -> the latest outcome as JSON), read by
``churnwatch scores export``, and per customer the last ``OUTCOMES_KEPT`` outcomes
(``{prefix}:{customer}:outcomes``, a capped list, newest first) for the customer's page.
``recorded_at`` is the wall-clock time of the click: recording is a person's action, not
an event of the stream, so no decision is ever taken on it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from redis.exceptions import RedisError

from features.redis_store import RedisClient, customer_tag
from policy.suppression import Suppression, SuppressionReason
from schemas.errors import StorageUnavailableError

OUTCOMES_KEPT = 20
NOTE_MAX_CHARS = 200


class ContactOutcome(StrEnum):
    """How a contact went; a small fixed set, so metrics and exports stay readable."""

    REACHED = "reached"
    OFFER_ACCEPTED = "offer_accepted"
    DECLINED = "declined"
    DO_NOT_CONTACT = "do_not_contact"  # also suppresses the customer's alerts

    @property
    def label(self) -> str:
        """
        >>> ContactOutcome.OFFER_ACCEPTED.label
        'offer accepted'
        """
        return self.value.replace("_", " ")


@dataclass(frozen=True, slots=True)
class RecordedOutcome:
    """An outcome as recorded: ``alert_id`` is the alert the contact answered (may be empty)."""

    customer_id: str
    outcome: ContactOutcome
    recorded_at: datetime
    alert_id: str = ""
    note: str = ""

    def encode(self) -> str:
        return json.dumps(
            {
                "outcome": self.outcome.value,
                "recorded_at": self.recorded_at.isoformat(),
                "alert_id": self.alert_id,
                "note": self.note,
            }
        )

    @classmethod
    def decode(cls, customer_id: str, raw: bytes | str) -> RecordedOutcome:
        """Inverse of ``encode``.

        >>> from datetime import UTC
        >>> o = RecordedOutcome("c1", ContactOutcome.DECLINED, datetime(2026, 3, 1, tzinfo=UTC), "a1", "n")
        >>> RecordedOutcome.decode("c1", o.encode()) == o
        True
        """
        values = json.loads(raw)
        return cls(
            customer_id,
            ContactOutcome(values["outcome"]),
            datetime.fromisoformat(values["recorded_at"]),
            str(values.get("alert_id", "")),
            str(values.get("note", "")),
        )


def suppression_for(recorded: RecordedOutcome) -> Suppression | None:
    """The suppression an outcome implies: "do not contact" holds back the customer's alerts.

    >>> from datetime import UTC
    >>> at = datetime(2026, 3, 1, tzinfo=UTC)
    >>> suppression_for(RecordedOutcome("c1", ContactOutcome.DO_NOT_CONTACT, at)).reason.value
    'do_not_contact'
    >>> suppression_for(RecordedOutcome("c1", ContactOutcome.REACHED, at)) is None
    True
    """
    if recorded.outcome is not ContactOutcome.DO_NOT_CONTACT:
        return None
    note = (
        f"recorded in the retention queue: {recorded.note}"
        if recorded.note
        else "recorded in the retention queue"
    )
    return Suppression(recorded.customer_id, SuppressionReason.DO_NOT_CONTACT, note, recorded.recorded_at)


def outcomes_key(prefix: str) -> str:
    """
    >>> outcomes_key("cw")
    'cw:outcomes'
    """
    return f"{prefix}:outcomes"


def outcome_log_key(prefix: str, customer_id: str) -> str:
    """
    >>> outcome_log_key("cw", "c42")
    'cw:{c42}:outcomes'
    """
    return f"{prefix}:{customer_tag(customer_id)}:outcomes"


class ContactOutcomeStore:
    """Record outcomes; read the latest per customer and a customer's recent ones."""

    def __init__(self, redis: RedisClient, key_prefix: str) -> None:
        self._redis = redis
        self._prefix = key_prefix

    async def record(self, recorded: RecordedOutcome) -> None:
        """Latest outcome and the customer's log; two keys in two slots, so two commands."""
        encoded = recorded.encode()
        log_key = outcome_log_key(self._prefix, recorded.customer_id)
        try:
            await self._redis.hset(outcomes_key(self._prefix), recorded.customer_id, encoded)
            pipe = self._redis.pipeline(transaction=False)
            pipe.lpush(log_key, encoded)
            pipe.ltrim(log_key, 0, OUTCOMES_KEPT - 1)
            await pipe.execute()
        except RedisError as error:
            raise StorageUnavailableError(f"outcome write failed: {error}") from error

    async def latest(self, customer_ids: Sequence[str]) -> dict[str, RecordedOutcome]:
        """The latest outcome of each of these customers that has one."""
        if not customer_ids:
            return {}
        try:
            values = await self._redis.hmget(outcomes_key(self._prefix), list(customer_ids))
        except RedisError as error:
            raise StorageUnavailableError(f"outcome read failed: {error}") from error
        return {
            customer_id: RecordedOutcome.decode(customer_id, value)
            for customer_id, value in zip(customer_ids, values, strict=True)
            if value is not None
        }

    async def recent(self, customer_id: str) -> list[RecordedOutcome]:
        """A customer's last outcomes, newest first."""
        try:
            values = await self._redis.lrange(outcome_log_key(self._prefix, customer_id), 0, -1)
        except RedisError as error:
            raise StorageUnavailableError(f"outcome read failed: {error}") from error
        return [RecordedOutcome.decode(customer_id, value) for value in values]
