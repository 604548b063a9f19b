"""Customers the retention team must not contact (or has handled): their alerts are held back.

Kept on Redis by ``store.suppressions``, written by ``churnwatch suppress`` and read for
the customers about to be alerted only. A held alert still moves the customer's alert
state (its cooldown runs), so a suppressed customer is counted once per alert the team
would have had, not once per tick.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class SuppressionReason(StrEnum):
    """Why a customer is not to be contacted; a small fixed set, so metrics stay readable."""

    DO_NOT_CONTACT = "do_not_contact"  # the customer asked, or the law says so
    HANDLED = "handled"  # already in the team's hands (a contact, an open case)
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Suppression:
    customer_id: str
    reason: SuppressionReason
    note: str
    added_at: datetime

    def encode(self) -> str:
        return json.dumps(
            {"reason": self.reason.value, "note": self.note, "added_at": self.added_at.isoformat()}
        )

    @classmethod
    def decode(cls, customer_id: str, raw: bytes | str) -> Suppression:
        values = json.loads(raw)
        return cls(
            customer_id,
            SuppressionReason(values["reason"]),
            str(values.get("note", "")),
            datetime.fromisoformat(values["added_at"]),
        )
