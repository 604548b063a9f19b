"""Delayed churn labels on event time: a kept snapshot resolves when its outcome is known.

DESIGN "Delayed labels": a snapshot at ``t`` is positive if the customer churns in
``(t, t + H]``, resolved at the churn time; negative once event time has passed ``t + H``
without churn, resolved at ``t + H``. Nothing about the outcome is readable before then:
``resolved()`` hands out only examples already resolved, in resolution order, so a learner
that takes them at the start of a day has seen nothing from that day or later.

Pending snapshots are held until they resolve, so memory is bounded by the horizon: at
most the snapshots of the last ``H`` days.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from bench.errors import BenchError

Payload = TypeVar("Payload")


@dataclass(frozen=True, slots=True)
class ResolvedExample(Generic[Payload]):
    """A snapshot with its outcome: ``churned`` and when that became known (``resolved_at``)."""

    snapshot_id: str
    customer_id: str
    snapshot_at: datetime
    churned: bool
    resolved_at: datetime
    payload: Payload


@dataclass(slots=True)
class _Pending(Generic[Payload]):
    snapshot_id: str
    customer_id: str
    at: datetime
    payload: Payload
    done: bool = False


class DelayedLabels(Generic[Payload]):
    """Pending snapshots and the rules that resolve them, driven by event time only.

    >>> from datetime import UTC
    >>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
    >>> labels = DelayedLabels[str](timedelta(days=30))
    >>> labels.keep("c1:0", "c1", t0, "features")
    >>> labels.keep("c2:0", "c2", t0, "features")
    >>> labels.churn("c1", t0 + timedelta(days=3))
    >>> labels.advance(t0 + timedelta(days=31))
    >>> [(e.snapshot_id, e.churned, (e.resolved_at - t0).days) for e in labels.resolved()]
    [('c1:0', True, 3), ('c2:0', False, 30)]
    """

    def __init__(self, horizon: timedelta) -> None:
        if horizon <= timedelta(0):
            raise BenchError(f"horizon={horizon}: must be positive")
        self.horizon = horizon
        self._by_time: deque[_Pending[Payload]] = deque()
        self._by_customer: dict[str, list[_Pending[Payload]]] = {}
        self._resolved: list[ResolvedExample[Payload]] = []
        self._known_until: datetime | None = None

    @property
    def pending(self) -> int:
        """Snapshots kept and not resolved yet."""
        return sum(not item.done for item in self._by_time)

    def keep(self, snapshot_id: str, customer_id: str, at: datetime, payload: Payload) -> None:
        """Hold a snapshot until its outcome is known; snapshots must come in time order."""
        if self._by_time and at < self._by_time[-1].at:
            raise BenchError(f"snapshot_at={at.isoformat()}: earlier than the last kept snapshot")
        item = _Pending(snapshot_id, customer_id, at, payload)
        self._by_time.append(item)
        self._by_customer.setdefault(customer_id, []).append(item)

    def churn(self, customer_id: str, at: datetime) -> None:
        """Churn (``port_out``, ``deactivated``) at ``at``: snapshots in ``[at - H, at)`` are positive."""
        kept = []
        for item in self._by_customer.pop(customer_id, []):
            if item.done:
                continue
            if item.at < at <= item.at + self.horizon:
                self._resolve(item, churned=True, resolved_at=at)
            elif item.at + self.horizon < at:
                self._resolve(item, churned=False, resolved_at=item.at + self.horizon)
            else:
                kept.append(item)
        if kept:
            self._by_customer[customer_id] = kept

    def advance(self, known_until: datetime) -> None:
        """Every event before ``known_until`` has been applied: horizons that ended before it are negative."""
        if self._known_until is not None and known_until < self._known_until:
            raise BenchError(f"known_until={known_until.isoformat()}: event time cannot go back")
        self._known_until = known_until
        while self._by_time and self._by_time[0].at + self.horizon < known_until:
            item = self._by_time.popleft()
            if not item.done:
                self._resolve(item, churned=False, resolved_at=item.at + self.horizon)
                remaining = [other for other in self._by_customer.get(item.customer_id, []) if not other.done]
                if remaining:
                    self._by_customer[item.customer_id] = remaining
                else:
                    self._by_customer.pop(item.customer_id, None)

    def resolved(self) -> list[ResolvedExample[Payload]]:
        """Examples resolved since the last call, by resolution time then snapshot id."""
        taken, self._resolved = self._resolved, []
        taken.sort(key=lambda example: (example.resolved_at, example.snapshot_id))
        return taken

    def _resolve(self, item: _Pending[Payload], churned: bool, resolved_at: datetime) -> None:
        item.done = True
        self._resolved.append(
            ResolvedExample(item.snapshot_id, item.customer_id, item.at, churned, resolved_at, item.payload)
        )
