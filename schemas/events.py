"""Input event contracts: what billing, network and CRM systems send to Churnwatch.

Every event is a JSON object, key = ``customer_id``. Unknown fields are ignored;
missing required fields, wrong types, out-of-range values and naive timestamps are
rejected (the worker routes them to the dead-letter topic).

Each contract is one msgspec Struct: ``schemas.parsing`` decodes records straight into
it, ``schemas.export`` writes its JSON Schema. Structs built in Python are not validated,
so code that builds events passes enum members and aware datetimes.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Literal

from msgspec import Meta, Struct

EventId = Annotated[str, Meta(min_length=1, max_length=128)]
CustomerId = Annotated[str, Meta(min_length=1, max_length=64)]
EventTime = Annotated[datetime, Meta(tz=True)]
"""Decoded from RFC 3339 text with an offset only: not from epoch numbers, not naive."""

RFC3339_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})")
"""The accepted form of ``event_time`` text. msgspec's own reader is laxer (``+0800``
offsets, any number of fraction digits, rounded rather than cut to microseconds), so
``schemas.parsing`` holds every record to this form as well."""


def rfc3339_time(text: object) -> datetime:
    """Read only RFC 3339 text with an offset; fraction digits beyond microseconds are cut.

    >>> rfc3339_time("2026-01-01T10:00:00.5Z").isoformat()
    '2026-01-01T10:00:00.500000+00:00'
    >>> rfc3339_time("1762768800")
    Traceback (most recent call last):
    ...
    ValueError: must be RFC 3339 text with an offset, e.g. 2026-01-01T10:00:00+08:00
    """
    if isinstance(text, str) and RFC3339_TIME.fullmatch(text):
        return datetime.fromisoformat(text.upper())
    raise ValueError("must be RFC 3339 text with an offset, e.g. 2026-01-01T10:00:00+08:00")


class EventType(StrEnum):
    """The ``type`` tag used in JSON Lines files; each type has its own topic."""

    CALL = "call"
    TOPUP = "topup"
    COMPLAINT = "complaint"
    LIFECYCLE = "lifecycle"


class CallDirection(StrEnum):
    OUTGOING = "outgoing"
    INCOMING = "incoming"


class CounterpartyNetwork(StrEnum):
    ON_NET = "on_net"
    OFF_NET = "off_net"
    INTERNATIONAL = "international"


class TopupChannel(StrEnum):
    RETAIL = "retail"
    ONLINE = "online"
    APP = "app"
    VOUCHER = "voucher"
    AUTO = "auto"
    BANK = "bank"


class ComplaintCategory(StrEnum):
    NETWORK = "network"
    BILLING = "billing"
    SERVICE = "service"
    PRICE = "price"
    TECHNICAL = "technical"
    OTHER = "other"


class ComplaintChannel(StrEnum):
    HOTLINE = "hotline"
    STORE = "store"
    APP = "app"
    SOCIAL = "social"
    REGULATOR = "regulator"


class LifecycleKind(StrEnum):
    ACTIVATED = "activated"
    PLAN_CHANGED = "plan_changed"
    PORT_OUT = "port_out"
    DEACTIVATED = "deactivated"
    REACTIVATED = "reactivated"
    PROFILE = "profile"
    """The customer's standing facts (plan, payment, commitment, activation date), sent at
    go-live for every customer who joined before the stream began, and whenever they change
    outside a plan change; never a change of churn state."""


CHURN_KINDS = frozenset({LifecycleKind.PORT_OUT, LifecycleKind.DEACTIVATED})


class PaymentType(StrEnum):
    PREPAID = "prepaid"
    POSTPAID = "postpaid"


class BaseEvent(Struct, frozen=True, kw_only=True, forbid_unknown_fields=False, gc=False):
    """Fields every event carries; ``event_id`` is unique per source event."""

    event_id: EventId
    customer_id: CustomerId
    event_time: EventTime


class CallEvent(BaseEvent, frozen=True, kw_only=True, forbid_unknown_fields=False, gc=False):
    """One call, as rated by the network (CDR). ``counterparty`` is pseudonymised on ingest."""

    type: Literal["call"] = "call"
    direction: CallDirection
    duration_s: Annotated[float, Meta(ge=0, le=86_400)]
    counterparty: Annotated[str, Meta(min_length=1, max_length=64)]
    counterparty_network: CounterpartyNetwork = CounterpartyNetwork.ON_NET
    dropped: bool = False
    roaming: bool = False
    charge: Annotated[float, Meta(ge=0, le=100_000)] = 0.0


class TopupEvent(BaseEvent, frozen=True, kw_only=True, forbid_unknown_fields=False, gc=False):
    """A balance top-up (prepaid) or bill payment (postpaid); ``amount`` in ``currency``."""

    type: Literal["topup"] = "topup"
    amount: Annotated[float, Meta(gt=0, le=100_000)]
    # the length bound keeps "USD\n" out: a regex ``$`` also matches before a final newline
    currency: Annotated[str, Meta(pattern=r"^[A-Z]{3}$", max_length=3)] | None = None
    channel: TopupChannel | None = None


class ComplaintEvent(BaseEvent, frozen=True, kw_only=True, forbid_unknown_fields=False, gc=False):
    """A customer complaint, by category and severity (1 = minor .. 5 = regulator-grade)."""

    type: Literal["complaint"] = "complaint"
    category: ComplaintCategory
    severity: Annotated[int, Meta(ge=1, le=5)]
    channel: ComplaintChannel | None = None
    resolved: bool = False


EARLIEST_ACTIVATION = datetime(1970, 1, 1, tzinfo=UTC)
"""No subscription began before this; an earlier ``activated_on`` is a unit or typing error."""


class LifecycleEvent(BaseEvent, frozen=True, kw_only=True, forbid_unknown_fields=False, gc=False):
    """Subscription lifecycle; ``port_out`` and ``deactivated`` are churn.

    A record that names a ``plan`` states that plan's facts together: ``commitment_months``
    (the contract's minimum term, 0 = none), ``monthly_fee`` (the recurring price, in the
    top-up currency) and ``bundled_services`` (other services on the account); one it does
    not carry is unknown. ``activated_on`` is when the subscription really began, so a
    customer who predates the stream gets their true tenure (RFC 3339 with an offset, not
    after ``event_time``).
    """

    type: Literal["lifecycle"] = "lifecycle"
    kind: LifecycleKind
    plan: Annotated[str, Meta(min_length=1, max_length=64)] | None = None
    payment_type: PaymentType | None = None
    activated_on: (
        Annotated[
            str,
            Meta(
                min_length=1,
                max_length=40,
                description="When the subscription began: RFC 3339 with an offset, not after event_time",
                extra_json_schema={"format": "date-time"},
            ),
        ]
        | None
    ) = None
    commitment_months: (
        Annotated[int, Meta(ge=0, le=60, description="The contract's minimum term; 0 = none")] | None
    ) = None
    monthly_fee: (
        Annotated[float, Meta(ge=0, le=100_000, description="Recurring plan price, top-up currency")] | None
    ) = None
    bundled_services: (
        Annotated[int, Meta(ge=0, le=20, description="Other services on the same account")] | None
    ) = None

    def __post_init__(self) -> None:
        if self.activated_on is not None:
            try:
                activated = self.activation_time()
            except ValueError as error:
                raise ValueError(f"activated_on={self.activated_on!r}: {error}") from None
            if activated > self.event_time:
                raise ValueError(f"activated_on={self.activated_on!r}: must not be after event_time")
            if activated < EARLIEST_ACTIVATION:
                raise ValueError(f"activated_on={self.activated_on!r}: must not be before 1970")

    def activation_time(self) -> datetime:
        """``activated_on`` as an aware time (the record has one: check before calling)."""
        assert self.activated_on is not None
        return rfc3339_time(self.activated_on)


InputEvent = CallEvent | TopupEvent | ComplaintEvent | LifecycleEvent

EVENT_CONTRACTS: dict[EventType, type[InputEvent]] = {
    EventType.CALL: CallEvent,
    EventType.TOPUP: TopupEvent,
    EventType.COMPLAINT: ComplaintEvent,
    EventType.LIFECYCLE: LifecycleEvent,
}
