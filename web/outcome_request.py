"""The body of an outcome request (JSON from the customer page, or a script) as a recorded outcome."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from policy.contact_outcomes import NOTE_MAX_CHARS, ContactOutcome, RecordedOutcome
from web.errors import OutcomeRequestError


def parse_outcome_request(body: object, recorded_at: datetime) -> RecordedOutcome:
    """``{"customer_id", "outcome", "alert_id"?, "note"?}``; anything else raises OutcomeRequestError.

    >>> from datetime import UTC
    >>> at = datetime(2026, 3, 1, 9, tzinfo=UTC)
    >>> parse_outcome_request({"customer_id": "c1", "outcome": "reached"}, at).outcome
    <ContactOutcome.REACHED: 'reached'>
    >>> parse_outcome_request({"customer_id": "c1", "outcome": "maybe"}, at)
    Traceback (most recent call last):
    ...
    web.errors.OutcomeRequestError: outcome='maybe': must be one of reached, offer_accepted, declined, do_not_contact
    """  # noqa: E501
    if not isinstance(body, Mapping):
        raise OutcomeRequestError("body", type(body).__name__, "must be a JSON object")
    customer_id = body.get("customer_id")
    if not isinstance(customer_id, str) or not 1 <= len(customer_id) <= 64:
        raise OutcomeRequestError("customer_id", customer_id, "must be a string of 1..64 characters")
    outcome = body.get("outcome")
    if outcome not in ContactOutcome._value2member_map_:
        choices = ", ".join(choice.value for choice in ContactOutcome)
        raise OutcomeRequestError("outcome", outcome, f"must be one of {choices}")
    alert_id = body.get("alert_id", "")
    if not isinstance(alert_id, str) or len(alert_id) > 64:
        raise OutcomeRequestError("alert_id", alert_id, "must be a string of at most 64 characters")
    note = body.get("note", "")
    if not isinstance(note, str) or len(note) > NOTE_MAX_CHARS:
        raise OutcomeRequestError("note", note, f"must be a string of at most {NOTE_MAX_CHARS} characters")
    return RecordedOutcome(customer_id, ContactOutcome(str(outcome)), recorded_at, alert_id, note.strip())
