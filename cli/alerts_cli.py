"""``churnwatch alerts tail``: retention alerts as they are published, coloured by zone."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Annotated

import typer
from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import ValidationError
from rich.console import Console

from schemas.outputs import Alert, ValueTier, Zone
from stack.state import NO_BROKER_FIX, broker_answers, resolve
from streams.settings import Settings

app = typer.Typer(help="Retention alerts from the alerts topic.", no_args_is_help=True)

ZONE_STYLE = {Zone.RED: "bold red", Zone.YELLOW: "yellow", Zone.GREEN: "green", Zone.BLUE: "blue"}
POLL_MS = 500


def alert_line(alert: Alert) -> str:
    """One alert as the team reads it: when, who, zone, tier, value at risk, why, what to do.

    >>> from datetime import UTC, datetime
    >>> from schemas.outputs import Reason, RecommendedAction, ScoreSource
    >>> at = datetime(2026, 3, 1, 8, tzinfo=UTC)
    >>> alert_line(Alert(alert_id="a1", customer_id="C7", event_time=at, created_at=at, score=0.8,
    ...     zone=Zone.RED, previous_zone=Zone.YELLOW, value_tier=ValueTier.HIGH, value_at_risk=120.0,
    ...     priority=96.0, reasons=(Reason(code="usage_decline", text="calls down 60%", weight=1.0),),
    ...     recommended_action=RecommendedAction(code="call", text="personal call", channel="phone"),
    ...     model_version="v1", score_source=ScoreSource.ONLINE_MODEL))
    '2026-03-01 08:00  C7  red     high    at risk 120.00  calls down 60%  -> personal call (phone)'
    """
    reason = alert.reasons[0].text if alert.reasons else "-"
    action = alert.recommended_action
    return (
        f"{alert.event_time:%Y-%m-%d %H:%M}  {alert.customer_id}  {alert.zone.value:<6}  "
        f"{alert.value_tier.value:<6}  at risk {alert.value_at_risk:.2f}  {reason}  "
        f"-> {action.text} ({action.channel})"
    )


@app.command("tail")
def tail(
    zone: Annotated[list[Zone] | None, typer.Option(help="Only these zones; repeat for more.")] = None,
    tier: Annotated[
        list[ValueTier] | None, typer.Option(help="Only these value tiers; repeat for more.")
    ] = None,
    from_beginning: Annotated[bool, typer.Option(help="Start at the topic's first alert, not now.")] = False,
    limit: Annotated[int | None, typer.Option("--max", min=1, help="Stop after this many alerts.")] = None,
    idle_s: Annotated[
        float | None, typer.Option(min=0.1, help="Stop after this many seconds without a new alert.")
    ] = None,
) -> None:
    """Print alerts as they arrive (Ctrl-C stops), one line each, coloured by zone."""
    settings = Settings()
    addresses = resolve(settings.bootstrap, settings.redis_url)
    console = Console(highlight=False)
    if addresses.kafka_bootstrap is None or not broker_answers(addresses.kafka_bootstrap):
        where = addresses.kafka_bootstrap or "(none set)"
        console.print(f"[red]cannot reach the broker at {where}:[/red] {NO_BROKER_FIX}")
        raise typer.Exit(2)
    zones, tiers = set(zone or Zone), set(tier or ValueTier)
    header = f"{settings.topics.alerts} on {addresses.kafka_bootstrap} ({addresses.source})"
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            _tail(
                addresses.kafka_bootstrap,
                settings.topics.alerts,
                header,
                zones,
                tiers,
                from_beginning,
                limit,
                idle_s,
                console,
            )
        )


async def _tail(
    bootstrap: str,
    topic: str,
    header: str,
    zones: set[Zone],
    tiers: set[ValueTier],
    from_beginning: bool,
    limit: int | None,
    idle_s: float | None,
    console: Console,
) -> None:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer.topics()
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(tps)
        started_ms = int(time.time() * 1000)
        if from_beginning:
            await consumer.seek_to_beginning(*tps)
        else:
            # the broker's end offsets, and records older than now skipped: an embedded broker's
            # end offset can lie before the true end
            await consumer.seek_to_end(*tps)
        for tp in tps:
            await consumer.position(tp)  # positioned before saying so: what comes after is shown
        console.print(f"[dim]{header}[/dim]")
        shown, last_s = 0, time.monotonic()
        while limit is None or shown < limit:
            if idle_s is not None and time.monotonic() - last_s > idle_s:
                return
            batches = await consumer.getmany(timeout_ms=POLL_MS)
            for records in batches.values():
                for record in records:
                    if record.value is None or (not from_beginning and record.timestamp < started_ms):
                        continue
                    try:
                        alert = Alert.model_validate_json(record.value)
                    except ValidationError:
                        continue
                    last_s = time.monotonic()
                    if alert.zone in zones and alert.value_tier in tiers:
                        console.print(alert_line(alert), style=ZONE_STYLE.get(alert.zone, ""), markup=False)
                        shown += 1
                        if limit is not None and shown >= limit:
                            return
    finally:
        await consumer.stop()
