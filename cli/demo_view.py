"""What ``churnwatch demo`` shows: alert and dead-letter tallies, worker metrics, and their rendering.

Everything here is pure: the demo's orchestration (cli/demo.py) feeds in the JSON records
read from ``retention.alerts`` / ``churn.dlq`` and the worker's ``/metrics`` text, and
gets back rich renderables for a terminal or plain lines for logs and CI.
"""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

ZONE_STYLES = {"red": "bold red", "yellow": "bold yellow", "green": "green", "blue": "blue", "white": "dim"}
ZONE_ORDER = ("red", "yellow", "green", "blue", "white")


@dataclass(frozen=True, slots=True)
class AlertRow:
    """The parts of an alert a retention lead reads first."""

    alert_id: str
    customer_id: str
    event_time: str
    zone: str
    score: float
    value_tier: str
    value_at_risk: float
    priority: float
    reason_code: str
    reason_text: str
    reasons: tuple[str, ...]
    action_text: str
    action_channel: str
    score_source: str

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> AlertRow:
        """An alert from its JSON object on ``retention.alerts`` (fields of ``schemas.outputs.Alert``).

        >>> row = AlertRow.from_record(_EXAMPLE_ALERT)
        >>> row.customer_id, row.zone, row.reason_text, row.action_channel
        ('C000042', 'red', 'no top-up for 41 days, usual gap 9', 'phone')
        """
        reasons = tuple(record.get("reasons") or ())
        action = record.get("recommended_action") or {}
        top = reasons[0] if reasons else {}
        return cls(
            alert_id=str(record["alert_id"]),
            customer_id=str(record["customer_id"]),
            event_time=str(record.get("event_time", "")),
            zone=str(record.get("zone", "")),
            score=float(record.get("score", 0.0)),
            value_tier=str(record.get("value_tier", "")),
            value_at_risk=float(record.get("value_at_risk", 0.0)),
            priority=float(record.get("priority", 0.0)),
            reason_code=str(top.get("code", "")),
            reason_text=str(top.get("text", "no reason given")),
            reasons=tuple(str(item.get("text", "")) for item in reasons),
            action_text=str(action.get("text", "")),
            action_channel=str(action.get("channel", "")),
            score_source=str(record.get("score_source", "")),
        )

    @property
    def event_day(self) -> str:
        """The event-time date of the alert (YYYY-MM-DD).

        >>> AlertRow.from_record(_EXAMPLE_ALERT).event_day
        '2025-12-14'
        """
        return self.event_time[:10]


@dataclass(slots=True)
class OutputTally:
    """Alerts and dead letters read back from the output topics, in arrival order."""

    alerts: list[AlertRow] = field(default_factory=list)
    alerts_by_zone: Counter[str] = field(default_factory=Counter)
    alerts_by_source: Counter[str] = field(default_factory=Counter)
    dead_letters_by_reason: Counter[str] = field(default_factory=Counter)
    recent_window: int = 60
    _recent: deque[AlertRow] = field(default_factory=deque)

    def add_alert(self, record: Mapping[str, Any]) -> AlertRow:
        """Count an alert and keep it for the board and the closing examples."""
        row = AlertRow.from_record(record)
        self.alerts.append(row)
        self.alerts_by_zone[row.zone] += 1
        self.alerts_by_source[row.score_source] += 1
        self._recent.append(row)
        while len(self._recent) > self.recent_window:
            self._recent.popleft()
        return row

    def add_dead_letter(self, record: Mapping[str, Any]) -> None:
        """Count a dead letter by its reason (``schemas.outputs.DeadLetterReason``)."""
        self.dead_letters_by_reason[str(record.get("reason", "unknown"))] += 1

    @property
    def dead_letters(self) -> int:
        return sum(self.dead_letters_by_reason.values())

    def board(self, rows: int) -> list[AlertRow]:
        """The latest alert of each customer in the recent window, highest priority first.

        >>> tally = OutputTally(recent_window=3)
        >>> for n, (customer, p) in enumerate((("C1", 9.0), ("C2", 5.0), ("C3", 1.0), ("C2", 3.0))):
        ...     record = {**_EXAMPLE_ALERT, "alert_id": f"a{n}", "customer_id": customer, "priority": p}
        ...     _ = tally.add_alert(record)
        >>> [row.alert_id for row in tally.board(5)]
        ['a3', 'a2']
        """
        latest: dict[str, AlertRow] = {}
        for row in reversed(self._recent):
            latest.setdefault(row.customer_id, row)
        return sorted(latest.values(), key=lambda row: row.priority, reverse=True)[:rows]

    def examples(self, count: int) -> list[AlertRow]:
        """The most urgent alerts (zone, then priority) of distinct customers, varied reasons first.

        >>> tally = OutputTally()
        >>> picks = (("yellow", "topup_lapse", 9.0), ("red", "topup_lapse", 2.0), ("red", "topup_lapse", 1.0),
        ...          ("yellow", "dropped_calls", 1.0))
        >>> for n, (zone, code, p) in enumerate(picks):
        ...     reasons = [{"code": code, "text": code, "weight": 1.0}]
        ...     _ = tally.add_alert({**_EXAMPLE_ALERT, "alert_id": f"a{n}", "customer_id": f"C{n}",
        ...                          "zone": zone, "priority": p, "reasons": reasons})
        >>> [row.alert_id for row in tally.examples(3)]
        ['a1', 'a3', 'a2']
        """
        ranked = sorted(self.alerts, key=lambda row: (_zone_rank(row.zone), row.priority), reverse=True)
        chosen: list[AlertRow] = []
        customers: set[str] = set()
        codes: set[str] = set()
        for distinct_reason in (True, False):
            for row in ranked:
                if len(chosen) == count:
                    return chosen
                if row.customer_id in customers or (distinct_reason and row.reason_code in codes):
                    continue
                chosen.append(row)
                customers.add(row.customer_id)
                codes.add(row.reason_code)
        return chosen


@dataclass(frozen=True, slots=True)
class WorkerMetrics:
    """Totals from a worker's ``/metrics`` page."""

    events_in: float = 0.0
    events_applied: float = 0.0
    dead_letters: float = 0.0
    alerts: float = 0.0
    model_weight: float = 0.0  # the model's share of each score (0: the rules alone)
    labels_learned: float = 0.0
    model_auc: float | None = None  # prequential ROC AUC on the hand-over window
    rules_auc: float | None = None  # the rules' on the same examples

    @classmethod
    def parse(cls, exposition: str) -> WorkerMetrics:
        """Sum the Churnwatch counters over their labels (Prometheus text format).

        >>> text = '''churnwatch_events_in_total{topic="telco.calls"} 10.0
        ... churnwatch_events_in_total{topic="telco.topups"} 5.0
        ... churnwatch_events_applied_total 12.0
        ... churnwatch_dead_letters_total{reason="not_json"} 3.0
        ... '''
        >>> WorkerMetrics.parse(text).events_in, WorkerMetrics.parse(text).dead_letters
        (15.0, 3.0)
        """
        totals: defaultdict[str, float] = defaultdict(float)
        quality: dict[str, float] = {}
        for family in text_string_to_metric_families(exposition):
            for sample in family.samples:
                totals[sample.name] += sample.value
                if sample.name == "churnwatch_model_quality" and sample.labels.get("metric") == "roc_auc":
                    quality[sample.labels.get("scorer", "")] = sample.value
        return cls(
            events_in=totals["churnwatch_events_in_total"],
            events_applied=totals["churnwatch_events_applied_total"],
            dead_letters=totals["churnwatch_dead_letters_total"],
            alerts=totals["churnwatch_alerts_total"],
            model_weight=totals["churnwatch_model_weight"],
            labels_learned=totals["churnwatch_model_examples_learned"],
            model_auc=quality.get("model_recent"),
            rules_auc=quality.get("rules_recent"),
        )

    def learning_text(self) -> str:
        """Who scores, and how the model ranks against the rules on the same recent labels.

        >>> warm = WorkerMetrics(model_weight=1.0, labels_learned=5200, model_auc=0.81, rules_auc=0.66)
        >>> warm.learning_text()
        'the model scores alone; ROC AUC on recent labels: model 0.81, rules 0.66 (5,200 labels learned)'
        >>> WorkerMetrics().learning_text()
        'the rules score (no labels learned yet)'
        """
        if self.model_weight >= 1.0:
            who = "the model scores alone"
        elif self.model_weight > 0.0:
            who = f"the model is taking over ({self.model_weight:.0%} of each score)"
        else:
            who = "the rules score"
        if self.model_auc is None or self.rules_auc is None:
            return f"{who} (no labels learned yet)" if not self.labels_learned else f"{who}"
        return (
            f"{who}; ROC AUC on recent labels: model {self.model_auc:.2f}, rules {self.rules_auc:.2f}"
            f" ({self.labels_learned:,.0f} labels learned)"
        )


class RateMeter:
    """Events per second over a sliding window of (time, running total) samples.

    >>> meter = RateMeter(window_s=2.0)
    >>> meter.observe(0.0, 0), meter.observe(1.0, 500), meter.observe(3.0, 1500)
    (0.0, 500.0, 500.0)
    >>> meter.peak
    500.0
    """

    def __init__(self, window_s: float = 3.0) -> None:
        self._window_s = window_s
        self._samples: deque[tuple[float, float]] = deque()
        self.peak = 0.0

    def observe(self, at_s: float, total: float) -> float:
        """Add a sample and return the rate across the window (0 until two samples exist)."""
        self._samples.append((at_s, total))
        while len(self._samples) > 2 and self._samples[1][0] <= at_s - self._window_s:
            self._samples.popleft()
        first_s, first_total = self._samples[0]
        rate = (total - first_total) / (at_s - first_s) if at_s > first_s else 0.0
        self.peak = max(self.peak, rate)
        return rate


@dataclass(frozen=True, slots=True)
class DemoProgress:
    """Where the run stands, for one frame of the view."""

    elapsed_s: float
    total_s: float
    phase: str
    published: int
    publish_rate: float
    event_time: datetime | None
    worker: WorkerMetrics
    worker_rate: float

    @property
    def remaining_s(self) -> float:
        return max(0.0, self.total_s - self.elapsed_s)

    @property
    def backlog(self) -> float:
        """Records published that the worker has not read yet."""
        return max(0.0, self.published - self.worker.events_in)


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """The closing figures of a run."""

    seconds_run: float
    customers: int
    simulated_days: float
    published: int
    bad_records: int
    worker: WorkerMetrics
    events_per_s: float
    peak_events_per_s: float
    worker_log: str
    first_alert_s: float | None = None
    interrupted: bool = False


def _zone_rank(zone: str) -> int:
    """Higher for riskier zones; unknown zones rank lowest.

    >>> _zone_rank("red") > _zone_rank("yellow") > _zone_rank("white") > _zone_rank("?")
    True
    """
    return len(ZONE_ORDER) - ZONE_ORDER.index(zone) if zone in ZONE_ORDER else 0


SOURCE_NAMES = {"cold_start_rules": "rules", "blend": "rules and model blended", "online_model": "model"}


def _source_counts(counts: Mapping[str, int]) -> str:
    """``model 40, rules and model blended 6, rules 21``: the model first.

    >>> _source_counts({"cold_start_rules": 21, "online_model": 40, "blend": 6})
    'model 40, rules and model blended 6, rules 21'
    >>> _source_counts({})
    'none yet'
    """
    order = list(SOURCE_NAMES)[::-1]
    ranked = sorted(counts.items(), key=lambda item: order.index(item[0]) if item[0] in order else len(order))
    shown = ", ".join(f"{SOURCE_NAMES.get(source, source)} {count:,}" for source, count in ranked)
    return shown or "none yet"


def _zone_text(zone: str) -> Text:
    return Text(zone, style=ZONE_STYLES.get(zone, ""))


def _zone_counts(counts: Mapping[str, int]) -> Text:
    """``red 4  yellow 9``, coloured, rising risk first.

    >>> _zone_counts(Counter(yellow=9, red=4)).plain
    'red 4  yellow 9'
    """
    text = Text()
    for zone in ZONE_ORDER:
        if counts.get(zone):
            if text:
                text.append("  ")
            text.append(f"{zone} {counts[zone]}", style=ZONE_STYLES[zone])
    return text or Text("none yet", style="dim")


def _reason_counts(counts: Mapping[str, int]) -> str:
    """``not_json 3, duplicate 2``, most frequent first.

    >>> _reason_counts(Counter(duplicate=2, not_json=3))
    'not_json 3, duplicate 2'
    """
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{reason} {count}" for reason, count in ordered) or "none yet"


def alert_table(rows: list[AlertRow], title: str) -> Table:
    """Alerts as a table: who, how risky, how valuable, why, and what to do."""
    table = Table(title=title, title_justify="left", expand=True, show_lines=False)
    table.add_column("customer", no_wrap=True)
    table.add_column("day", no_wrap=True, style="dim")
    table.add_column("zone", no_wrap=True)
    table.add_column("score", justify="right", no_wrap=True)
    table.add_column("tier", no_wrap=True)
    table.add_column("at risk", justify="right", no_wrap=True)
    table.add_column("top reason", ratio=3, overflow="fold")
    table.add_column("recommended action", ratio=4, overflow="fold")
    for row in rows:
        table.add_row(
            Text(row.customer_id),
            Text(row.event_day),
            _zone_text(row.zone),
            Text(f"{row.score:.2f}"),
            Text(row.value_tier),
            Text(f"{row.value_at_risk:,.0f}"),
            Text(row.reason_text),
            Text(f"[{row.action_channel}] {row.action_text}"),
        )
    if not rows:
        table.add_row("", "", "", "", "", "", Text("waiting for alerts", style="dim"), "")
    return table


def render_live(progress: DemoProgress, tally: OutputTally, rows: int = 12) -> RenderableType:
    """One frame of the live view: status header, alert board, counters."""
    when = progress.event_time.strftime("%Y-%m-%d %H:%M") if progress.event_time else "-"
    header = Table.grid(padding=(0, 3))
    header.add_row(
        Text(progress.phase, style="bold cyan"),
        Text(f"elapsed {progress.elapsed_s:4.0f}s  remaining {progress.remaining_s:4.0f}s"),
        Text(f"event time {when}"),
    )
    header.add_row(
        Text(f"published {progress.published:,} ({progress.publish_rate:,.0f}/s)"),
        Text(
            f"worker in {progress.worker.events_in:,.0f} ({progress.worker_rate:,.0f}/s)"
            f"  applied {progress.worker.events_applied:,.0f}"
        ),
        Text(f"worker behind by {progress.backlog:,.0f}"),
    )
    counters = Table.grid(padding=(0, 2))
    counters.add_row(Text("alerts", style="bold"), _zone_counts(tally.alerts_by_zone))
    counters.add_row(Text("dead letters", style="bold"), Text(_reason_counts(tally.dead_letters_by_reason)))
    counters.add_row(Text("alerts by scorer", style="bold"), Text(_source_counts(tally.alerts_by_source)))
    counters.add_row(Text("learning", style="bold"), Text(progress.worker.learning_text()))
    board = alert_table(tally.board(rows), f"latest alerts by priority ({len(tally.alerts):,} so far)")
    return Group(
        Panel(header, title="Churnwatch demo", border_style="cyan"),
        board,
        Panel(counters, border_style="dim"),
    )


def plain_status(progress: DemoProgress, tally: OutputTally) -> str:
    """One log line of progress for non-terminal output.

    >>> p = DemoProgress(5.0, 60.0, "live", 1000, 200.0, None, WorkerMetrics(events_in=900.0), 180.0)
    >>> print(plain_status(p, OutputTally()).replace(" alerts=", "\\n alerts="))
    [  5s/60s] live published=1,000 (200/s) worker_in=900 (180/s) applied=0 behind=100
     alerts=0 () dead_letters=0 () model_weight=0%
    """
    zones = " ".join(f"{z}={tally.alerts_by_zone[z]}" for z in ZONE_ORDER if tally.alerts_by_zone[z])
    reasons = " ".join(f"{r}={n}" for r, n in sorted(tally.dead_letters_by_reason.items()))
    return (
        f"[{progress.elapsed_s:3.0f}s/{progress.total_s:.0f}s] {progress.phase} "
        f"published={progress.published:,} ({progress.publish_rate:,.0f}/s) "
        f"worker_in={progress.worker.events_in:,.0f} ({progress.worker_rate:,.0f}/s) "
        f"applied={progress.worker.events_applied:,.0f} behind={progress.backlog:,.0f} "
        f"alerts={len(tally.alerts)} ({zones}) dead_letters={tally.dead_letters} ({reasons}) "
        f"model_weight={progress.worker.model_weight:.0%}"
    )


def plain_alert(row: AlertRow) -> str:
    """One log line per alert.

    >>> print(plain_alert(AlertRow.from_record(_EXAMPLE_ALERT)).replace(" reason=", "\\n reason="))
    ALERT C000042 day=2025-12-14 zone=red score=0.81 tier=high at_risk=97
     reason="no top-up for 41 days, usual gap 9" action=[phone] Call back.
    """
    return (
        f"ALERT {row.customer_id} day={row.event_day} zone={row.zone} score={row.score:.2f} "
        f'tier={row.value_tier} at_risk={row.value_at_risk:,.0f} reason="{row.reason_text}" '
        f"action=[{row.action_channel}] {row.action_text}"
    )


def render_summary(summary: DemoSummary, tally: OutputTally, examples: int = 3) -> RenderableType:
    """The closing report: totals, rejects by reason, alerts by zone, throughput, example alerts."""
    status = "interrupted" if summary.interrupted else "completed"
    first_alert = (
        f"after {summary.first_alert_s:.0f}s (event day {tally.alerts[0].event_day})"
        if summary.first_alert_s is not None and tally.alerts
        else "none"
    )
    totals = Table(title="Churnwatch demo summary", title_justify="left", show_header=False)
    totals.add_column("what", style="bold", no_wrap=True)
    totals.add_column("value")
    for what, value in (
        (
            "run",
            f"{status} after {summary.seconds_run:.0f}s; {summary.customers:,} customers, "
            f"{summary.simulated_days:.0f} simulated days",
        ),
        ("events published", f"{summary.published:,} (of which {summary.bad_records} deliberately bad)"),
        (
            "events in (worker)",
            f"{summary.worker.events_in:,.0f}; applied to features {summary.worker.events_applied:,.0f}",
        ),
        ("dead-lettered", f"{tally.dead_letters:,}: {_reason_counts(tally.dead_letters_by_reason)}"),
    ):
        totals.add_row(what, Text(value))
    totals.add_row("alerts", Text(f"{len(tally.alerts):,}: ").append_text(_zone_counts(tally.alerts_by_zone)))
    totals.add_row("first alert", Text(first_alert))
    totals.add_row("alerts by scorer", Text(_source_counts(tally.alerts_by_source)))
    totals.add_row("learning", Text(summary.worker.learning_text()))
    totals.add_row(
        "events/s (worker)",
        Text(f"{summary.events_per_s:,.0f} average over the run, {summary.peak_events_per_s:,.0f} peak"),
    )
    totals.add_row("worker log", Text(summary.worker_log))
    parts: list[RenderableType] = [totals]
    for row in tally.examples(examples):
        body = Text()
        body.append(row.customer_id, style="bold")
        body.append(f"  {row.event_day}  ")
        body.append_text(_zone_text(row.zone))
        body.append(
            f"  score {row.score:.2f}  tier {row.value_tier}  value at risk {row.value_at_risk:,.0f}"
            f"  ({row.score_source})\n"
        )
        for reason in row.reasons:
            body.append(f"  - {reason}\n")
        body.append(f"  action [{row.action_channel}]: {row.action_text}")
        parts.append(Panel(body, title="example alert", title_align="left", border_style="dim"))
    return Group(*parts)


_EXAMPLE_ALERT: dict[str, Any] = {
    "alert_id": "a1",
    "customer_id": "C000042",
    "event_time": "2025-12-14T10:00:00Z",
    "created_at": "2026-01-01T00:00:00Z",
    "score": 0.81,
    "zone": "red",
    "previous_zone": "yellow",
    "value_tier": "high",
    "value_at_risk": 97.4,
    "priority": 12.0,
    "reasons": [{"code": "topup_lapse", "text": "no top-up for 41 days, usual gap 9", "weight": 2.8}],
    "recommended_action": {"code": "reactivation_bonus", "text": "Call back.", "channel": "phone"},
    "model_version": "rules-1",
    "score_source": "cold_start_rules",
}
"""A sample record in the ``retention.alerts`` shape, for the examples above."""
