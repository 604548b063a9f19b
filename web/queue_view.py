"""The retention queue's pages as HTML: today's alerts ranked, filtered; one customer's history.

Server-rendered, every value escaped, no external asset: the stylesheet and the script are
served by the worker itself (``web/assets``), and the score chart is inline SVG.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date
from html import escape
from urllib.parse import urlencode

from policy.contact_outcomes import ContactOutcome, RecordedOutcome
from policy.suppression import SuppressionReason
from schemas.event_days import DAY_S, day_date, day_number, day_of_s
from schemas.outputs import Alert, ValueTier, Zone
from store.queue import ScorePoint

ROWS_SHOWN = 500
def parse_day(text: str | None) -> int | None:
    """An ISO date from the query string as an event-time day; None when absent or not a date.

    >>> parse_day("2026-03-01"), parse_day("yesterday"), parse_day(None)
    (20513, None, None)
    """
    if not text:
        return None
    try:
        return day_number(date.fromisoformat(text))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class QueueFilter:
    """The queue's filters; empty strings mean "any".

    >>> QueueFilter.from_query({"zone": "red", "tier": "nonsense", "reason": "usage_decline"})
    QueueFilter(zone='red', tier='', reason='usage_decline')
    """

    zone: str = ""
    tier: str = ""
    reason: str = ""

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> QueueFilter:
        """Unknown zones and tiers are dropped; reason codes are kept as given (matched exactly)."""
        zone = query.get("zone", "")
        tier = query.get("tier", "")
        return cls(
            zone=zone if zone in Zone._value2member_map_ else "",
            tier=tier if tier in ValueTier._value2member_map_ else "",
            reason=query.get("reason", "")[:64],
        )

    def keeps(self, alert: Alert) -> bool:
        if self.zone and alert.zone.value != self.zone:
            return False
        if self.tier and alert.value_tier.value != self.tier:
            return False
        return not self.reason or any(reason.code == self.reason for reason in alert.reasons)

    def query(self, day: int) -> dict[str, str]:
        values = {
            "day": day_date(day).isoformat(),
            "zone": self.zone,
            "tier": self.tier,
            "reason": self.reason,
        }
        return {name: value for name, value in values.items() if value}


def ranked(alerts: Iterable[Alert]) -> list[Alert]:
    """Highest priority first, ties by customer id (the policy's order)."""
    return sorted(alerts, key=lambda alert: (-alert.priority, alert.customer_id))


def reason_counts(alerts: Iterable[Alert]) -> list[tuple[str, int]]:
    """Reason codes of these alerts with how many alerts carry each, most frequent first."""
    counts = Counter(reason.code for alert in alerts for reason in alert.reasons)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def label(code: str) -> str:
    """
    >>> label("topup_decline")
    'topup decline'
    """
    return code.replace("_", " ")


def money(value: float) -> str:
    """
    >>> money(1234.5)
    '1,234.50'
    """
    return f"{value:,.2f}"


def _page(title: str, body: str, csrf: str = "") -> str:
    meta = f'<meta name="csrf-token" content="{escape(csrf)}">' if csrf else ""
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"{meta}<title>{escape(title)}</title>"
        '<link rel="stylesheet" href="/queue/assets/queue.css">'
        '<script src="/queue/assets/queue.js" defer></script>'
        f"</head><body>{body}</body></html>\n"
    )


def _zone_badge(zone: Zone) -> str:
    return f'<span class="zone zone-{zone.value}">{zone.value}</span>'


def _select(name: str, current: str, options: Sequence[tuple[str, str]]) -> str:
    items = ['<option value="">any</option>']
    for value, text in options:
        selected = " selected" if value == current else ""
        items.append(f'<option value="{escape(value)}"{selected}>{escape(text)}</option>')
    return f'<label>{name} <select name="{name}" data-filter>{"".join(items)}</select></label>'


def _outcome_text(outcome: RecordedOutcome | None) -> str:
    if outcome is None:
        return ""
    at = outcome.recorded_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    return f'<span class="outcome outcome-{outcome.outcome.value}">{escape(outcome.outcome.label)}</span> <small>{at}</small>'  # noqa: E501


def render_queue(
    day: int | None,
    alerts: Sequence[Alert],
    chosen: QueueFilter,
    outcomes: Mapping[str, RecordedOutcome],
    suppressed: Mapping[str, SuppressionReason],
) -> str:
    """The queue of one event-time day: the day's alerts ranked, filtered, with latest outcomes.

    ``day`` is None before the worker processed anything.
    """
    if day is None:
        body = "<header><h1>Retention queue</h1></header><main><p>No event processed yet.</p></main>"
        return _page("Retention queue", body)
    shown = [alert for alert in ranked(alerts) if chosen.keeps(alert)]
    reasons = reason_counts(alerts)
    previous = urlencode({**chosen.query(day), "day": day_date(day - 1).isoformat()})
    following = urlencode({**chosen.query(day), "day": day_date(day + 1).isoformat()})
    filters = (
        '<form class="filters" method="get" action="/queue">'
        f'<input type="hidden" name="day" value="{day_date(day).isoformat()}">'
        + _select("zone", chosen.zone, [(zone.value, zone.value) for zone in (Zone.RED, Zone.YELLOW)])
        + _select("tier", chosen.tier, [(tier.value, tier.value) for tier in ValueTier])
        + _select("reason", chosen.reason, [(code, f"{label(code)} ({count})") for code, count in reasons])
        + '<button type="submit">Apply</button> <a href="/queue?day='
        + day_date(day).isoformat()
        + '">clear</a></form>'
    )
    rows = []
    for rank, alert in enumerate(shown[:ROWS_SHOWN], start=1):
        customer = escape(alert.customer_id)
        link = "/queue/customer?" + urlencode({"id": alert.customer_id})
        reason_items = "".join(f"<li>{escape(reason.text)}</li>" for reason in alert.reasons)
        held = suppressed.get(alert.customer_id)
        held_note = f' <span class="held">{escape(label(held.value))}</span>' if held is not None else ""
        rows.append(
            f'<tr data-customer="{customer}" data-zone="{alert.zone.value}">'
            f'<td class="num">{rank}</td>'
            f'<td><a href="{escape(link)}">{customer}</a>{held_note}</td>'
            f"<td>{_zone_badge(alert.zone)}</td>"
            f"<td>{alert.value_tier.value}</td>"
            f'<td class="num">{money(alert.value_at_risk)}</td>'
            f'<td class="num">{alert.priority:.2f}</td>'
            f'<td class="num">{alert.score:.2f}</td>'
            f'<td><ul class="reasons">{reason_items}</ul></td>'
            f"<td>{escape(alert.recommended_action.text)} <small>({escape(alert.recommended_action.channel)})</small></td>"  # noqa: E501
            f"<td>{_outcome_text(outcomes.get(alert.customer_id))}</td>"
            "</tr>"
        )
    more = (
        f'<p class="more">{len(shown) - ROWS_SHOWN:,} more not shown: narrow the filters.</p>'
        if len(shown) > ROWS_SHOWN
        else ""
    )
    empty = "" if shown else '<p class="empty">No alert on this day matches.</p>'
    body = (
        "<header><h1>Retention queue</h1>"
        f'<nav class="days"><a href="/queue?{escape(previous)}">&larr; previous day</a> '
        f'<strong id="queue-day">{day_date(day).isoformat()}</strong> '
        f'<a href="/queue?{escape(following)}">next day &rarr;</a></nav>'
        f'<p class="summary"><span id="shown-count">{len(shown)}</span> of {len(alerts)} alerts '
        "(event-time day, UTC), highest priority first</p></header>"
        f"<main>{filters}"
        '<table id="queue"><thead><tr><th>#</th><th>customer</th><th>zone</th><th>tier</th>'
        "<th>value at risk</th><th>priority</th><th>score</th><th>reasons</th><th>action</th>"
        f"<th>outcome</th></tr></thead><tbody>{''.join(rows)}</tbody></table>{more}{empty}</main>"
    )
    return _page(f"Retention queue {day_date(day).isoformat()}", body)


CHART_WIDTH, CHART_HEIGHT, CHART_PAD = 640, 200, 32


def score_chart(
    points: Sequence[ScorePoint], alerts: Sequence[Alert], yellow_min: float, red_min: float
) -> str:
    """An inline SVG of the daily scores (line and dots) with the alerts marked by zone, on a
    0..1 axis with the yellow and red thresholds drawn; presentation attributes only (no CSS).

    >>> svg = score_chart([ScorePoint(1, 0.2), ScorePoint(4, 0.6)], [], 0.4, 0.7)
    >>> svg.startswith("<svg") and svg.count("<circle") == 2 and "<polyline" in svg
    True
    """
    alert_days = [alert.event_time.timestamp() / DAY_S for alert in alerts]
    days = [float(point.day) for point in points] + alert_days
    if not days:
        return '<p class="empty">No score kept yet.</p>'
    first, last = min(days), max(days)
    span = max(last - first, 1.0)
    inner_w, inner_h = CHART_WIDTH - 2 * CHART_PAD, CHART_HEIGHT - 2 * CHART_PAD

    def x(day: float) -> float:
        return round(CHART_PAD + (day - first) / span * inner_w, 1)

    def y(score: float) -> float:
        return round(CHART_PAD + (1.0 - score) * inner_h, 1)

    parts = [
        '<svg id="score-chart" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {CHART_WIDTH} {CHART_HEIGHT}" width="{CHART_WIDTH}" height="{CHART_HEIGHT}" '
        'role="img" aria-label="daily churn score">',
        f'<rect x="{CHART_PAD}" y="{y(1.0)}" width="{inner_w}" height="{y(red_min) - y(1.0)}" '
        'fill="#fde2e1"/>',
        f'<rect x="{CHART_PAD}" y="{y(red_min)}" width="{inner_w}" height="{y(yellow_min) - y(red_min)}" '
        'fill="#fff4cc"/>',
        f'<line x1="{CHART_PAD}" y1="{y(0.0)}" x2="{CHART_PAD + inner_w}" y2="{y(0.0)}" stroke="#888"/>',
        f'<line x1="{CHART_PAD}" y1="{y(0.0)}" x2="{CHART_PAD}" y2="{y(1.0)}" stroke="#888"/>',
    ]
    for tick in (0.0, 0.5, 1.0):
        parts.append(
            f'<text x="{CHART_PAD - 6}" y="{y(tick) + 4}" text-anchor="end" font-size="11" fill="#555">'
            f"{tick:.1f}</text>"
        )
    for day_value, anchor in ((first, "start"), (last, "end")):
        parts.append(
            f'<text x="{x(day_value)}" y="{CHART_HEIGHT - 10}" text-anchor="{anchor}" font-size="11" '
            f'fill="#555">{day_date(int(day_value)).isoformat()}</text>'
        )
    if points:
        line = " ".join(f"{x(point.day)},{y(point.score)}" for point in points)
        parts.append(f'<polyline points="{line}" fill="none" stroke="#1f5fa8" stroke-width="2"/>')
        for point in points:
            parts.append(
                f'<circle cx="{x(point.day)}" cy="{y(point.score)}" r="3" fill="#1f5fa8">'
                f"<title>{day_date(point.day).isoformat()}: {point.score:.3f}</title></circle>"
            )
    colours = {Zone.RED: "#c62828", Zone.YELLOW: "#e0a800"}
    for alert, day_value in zip(alerts, alert_days, strict=True):
        cx, cy = x(day_value), y(alert.score)
        parts.append(
            f'<path class="alert-mark" d="M{cx} {cy - 7} L{cx + 6} {cy + 4} L{cx - 6} {cy + 4} Z" '
            f'fill="{colours.get(alert.zone, "#666")}" stroke="#fff">'
            f"<title>{alert.event_time.date().isoformat()}: {alert.zone.value} alert, "
            f"score {alert.score:.3f}</title></path>"
        )
    parts.append("</svg>")
    return "".join(parts)


def render_customer(
    customer_id: str,
    points: Sequence[ScorePoint],
    alerts: Sequence[Alert],
    outcomes: Sequence[RecordedOutcome],
    suppressed: SuppressionReason | None,
    csrf: str,
    yellow_min: float,
    red_min: float,
) -> str:
    """One customer: the score history chart, the alerts so far (newest first), the outcomes
    recorded so far, and the buttons that record a contact's outcome."""
    latest = alerts[-1] if alerts else None
    customer = escape(customer_id)
    summary = ""
    if latest is not None:
        summary = (
            f'<p class="summary">Latest alert {latest.event_time.date().isoformat()}: '
            f"{_zone_badge(latest.zone)} {latest.value_tier.value} tier, "
            f"value at risk {money(latest.value_at_risk)}. "
            f"Action: {escape(latest.recommended_action.text)}</p>"
        )
    held = (
        f'<p class="held">Suppressed: {escape(label(suppressed.value))}</p>' if suppressed is not None else ""
    )
    alert_rows = "".join(
        "<tr>"
        f"<td>{alert.event_time.astimezone(UTC).strftime('%Y-%m-%d %H:%M')}</td>"
        f"<td>{_zone_badge(alert.zone)}</td>"
        f'<td class="num">{alert.score:.2f}</td>'
        f"<td>{alert.value_tier.value}</td>"
        f'<td class="num">{money(alert.value_at_risk)}</td>'
        f'<td><ul class="reasons">{"".join(f"<li>{escape(r.text)}</li>" for r in alert.reasons)}</ul></td>'
        f"<td>{escape(alert.recommended_action.text)}</td>"
        "</tr>"
        for alert in reversed(alerts)
    )
    outcome_items = "".join(
        f"<li>{_outcome_text(recorded)}"
        + (f" &mdash; {escape(recorded.note)}" if recorded.note else "")
        + "</li>"
        for recorded in outcomes
    )
    buttons = "".join(
        f'<button type="button" data-outcome="{outcome.value}">{escape(outcome.label)}</button>'
        for outcome in ContactOutcome
    )
    body = (
        '<header><p><a href="/queue">&larr; queue</a></p>'
        f'<h1>Customer <span id="customer-id">{customer}</span></h1>'
        f"{summary}{held}</header><main>"
        f"<section><h2>Score history</h2>{score_chart(points, alerts, yellow_min, red_min)}</section>"
        "<section><h2>Record the outcome of a contact</h2>"
        f'<form id="outcome-form" data-customer="{customer}" '
        f'data-alert="{escape(latest.alert_id) if latest else ""}">'
        '<label>note <input type="text" name="note" maxlength="200"></label> '
        f'{buttons}<p id="outcome-status" role="status"></p></form>'
        f'<h3>Outcomes so far</h3><ul id="outcomes">{outcome_items or "<li>none</li>"}</ul></section>'
        f"<section><h2>Alerts so far</h2>"
        '<table id="alerts"><thead><tr><th>event time (UTC)</th><th>zone</th><th>score</th><th>tier</th>'
        "<th>value at risk</th><th>reasons</th><th>action</th></tr></thead>"
        f"<tbody>{alert_rows}</tbody></table></section></main>"
    )
    return _page(f"Customer {customer_id}", body, csrf)


def render_login(message: str = "") -> str:
    """The sign-in form (the token from ``CHURNWATCH_WEB_TOKEN``)."""
    note = f'<p class="error">{escape(message)}</p>' if message else ""
    body = (
        "<header><h1>Retention queue</h1></header><main>"
        '<form class="login" method="post" action="/queue/login">'
        "<p>Sign in with the deployment's queue token.</p>"
        f"{note}"
        '<label>token <input type="password" name="token" autocomplete="current-password" required></label> '
        '<button type="submit">Sign in</button></form></main>'
    )
    return _page("Retention queue: sign in", body)


def event_time_day(seconds: float | None) -> int | None:
    """The event-time day of the latest event-time reached (None before any).

    >>> event_time_day(86400 * 3 + 5.0), event_time_day(None)
    (3, None)
    """
    return None if seconds is None else day_of_s(seconds)
