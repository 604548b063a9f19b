"""What the policy remembers per customer between events: the last alert's zone and time.

The state changes only when an alert is sent, so the store writes it only then. It is
stored by the worker's Redis adapter as the short text of ``encode``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from policy.errors import AlertStateError
from schemas.outputs import Zone


@dataclass(frozen=True, slots=True)
class AlertState:
    """``last_zone`` is the zone of the last alert (white before the first one).

    >>> AlertState.initial()
    AlertState(last_zone=<Zone.WHITE: 'white'>, last_alert_at=None)
    """

    last_zone: Zone
    last_alert_at: datetime | None

    @classmethod
    def initial(cls) -> AlertState:
        """A customer who was never alerted."""
        return cls(last_zone=Zone.WHITE, last_alert_at=None)

    def allows(self, zone: Zone, event_time: datetime, cooldown: timedelta) -> bool:
        """May ``zone`` be alerted at ``event_time``: first alert, a rise, or cooldown over.

        >>> from datetime import UTC
        >>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
        >>> state = AlertState(Zone.YELLOW, t0)
        >>> week = timedelta(days=7)
        >>> state.allows(Zone.YELLOW, t0 + timedelta(days=6), week)
        False
        >>> state.allows(Zone.RED, t0 + timedelta(days=1), week)
        True
        >>> state.allows(Zone.YELLOW, t0 + timedelta(days=7), week)
        True
        """
        if self.last_alert_at is None:
            return True
        return zone.rank > self.last_zone.rank or event_time - self.last_alert_at >= cooldown

    def after_alert(self, zone: Zone, event_time: datetime) -> AlertState:
        """The state once an alert for ``zone`` at ``event_time`` was sent.

        The cooldown runs from the latest alert time seen, so a late event that raises
        the zone cannot shorten the cooldown of an alert already sent.

        >>> from datetime import UTC
        >>> t0 = datetime(2026, 1, 5, tzinfo=UTC)
        >>> AlertState(Zone.YELLOW, t0).after_alert(Zone.RED, datetime(2026, 1, 4, tzinfo=UTC))
        AlertState(last_zone=<Zone.RED: 'red'>, last_alert_at=datetime.datetime(2026, 1, 5, 0, 0, tzinfo=datetime.timezone.utc))
        """  # noqa: E501
        latest = event_time if self.last_alert_at is None else max(self.last_alert_at, event_time)
        return AlertState(last_zone=zone, last_alert_at=latest)

    def encode(self) -> str:
        """Compact text for storage: ``<zone>|<ISO time or empty>``.

        >>> from datetime import UTC
        >>> AlertState(Zone.RED, datetime(2026, 1, 5, tzinfo=UTC)).encode()
        'red|2026-01-05T00:00:00+00:00'
        """
        at = "" if self.last_alert_at is None else self.last_alert_at.isoformat()
        return f"{self.last_zone.value}|{at}"

    @classmethod
    def decode(cls, text: str) -> AlertState:
        """Inverse of ``encode``; raises AlertStateError on anything else.

        >>> AlertState.decode(AlertState.initial().encode()) == AlertState.initial()
        True
        """
        zone_text, separator, at_text = text.partition("|")
        try:
            if not separator:
                raise ValueError("missing '|'")
            at = datetime.fromisoformat(at_text) if at_text else None
            if at is not None and at.tzinfo is None:
                raise ValueError("naive timestamp")
            return cls(last_zone=Zone(zone_text), last_alert_at=at)
        except ValueError as error:
            raise AlertStateError(f"alert state={text[:80]!r}: {error}") from error
