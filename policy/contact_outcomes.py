"""What came of the retention team's contact with a customer, recorded from the queue page.

Stored on Redis by ``store.contact_outcomes``: the latest outcome per customer, read by
``churnwatch scores export``, and each customer's recent outcomes for the customer's page.
``recorded_at`` is the wall-clock time of the click: recording is a person's action, not
an event of the stream, so no decision is ever taken on it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from policy.suppression import Suppression, SuppressionReason

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
