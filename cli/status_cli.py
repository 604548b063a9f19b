"""``churnwatch status``: a running worker at a glance, read from its ``/ready`` and ``/metrics``.

Readiness, input lag per partition, throughput over a short interval, errors and the model
in use with its prequential ROC AUC, as tables: what on-call looks at first, without Grafana.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Annotated

import typer
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console
from rich.table import Table

from streams.settings import Settings

FETCH_TIMEOUT_S = 2.0


@dataclass
class WorkerReading:
    """One scrape of a worker: its readiness answer and every sample of its metrics."""

    ready: bool
    ready_detail: dict[str, object]
    samples: dict[str, list[tuple[dict[str, str], float]]] = field(default_factory=lambda: defaultdict(list))

    def total(self, name: str) -> float:
        return sum(value for _, value in self.samples.get(name, []))

    def by(self, name: str, label: str) -> dict[str, float]:
        values: dict[str, float] = defaultdict(float)
        for labels, value in self.samples.get(name, []):
            values[labels.get(label, "")] += value
        return dict(values)


def read_worker(url: str) -> WorkerReading:
    """``/ready`` (200 or 503, both answers) and ``/metrics`` of the worker at ``url``."""
    try:
        with urllib.request.urlopen(f"{url}/ready", timeout=FETCH_TIMEOUT_S) as response:
            ready_body, ready = response.read(), True
    except urllib.error.HTTPError as error:
        ready_body, ready = error.read(), False
    with urllib.request.urlopen(f"{url}/metrics", timeout=FETCH_TIMEOUT_S) as response:
        text = response.read().decode("utf-8")
    try:
        detail = json.loads(ready_body)
    except ValueError:
        detail = {}
    reading = WorkerReading(ready and bool(detail.get("ready", True)), detail)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            reading.samples[sample.name].append((dict(sample.labels), float(sample.value)))
    return reading


def status(
    url: Annotated[
        str | None, typer.Option(help="The worker's web address (default: from CHURNWATCH_WORKER__WEB_*).")
    ] = None,
    interval_s: Annotated[
        float,
        typer.Option("--interval", min=0.1, help="Seconds between the two scrapes throughput is read from."),
    ] = 2.0,
) -> None:
    """Lag per partition, throughput, readiness, errors and the model in use, from a running worker."""
    if url is None:
        settings = Settings()
        url = f"http://{settings.worker.web_host}:{settings.worker.web_port}"
    console = Console()
    try:
        first = read_worker(url)
        time.sleep(interval_s)  # throughput is a difference of two scrapes
        second = read_worker(url)
    except (urllib.error.URLError, OSError) as error:
        console.print(
            f"[red]no worker answers at {url}:[/red] {error}; start one with `churnwatch worker` "
            "or give --url"
        )
        raise typer.Exit(2) from error
    console.print(_overview(url, first, second, interval_s))
    console.print(_lag(second))
    console.print(_model(second))


def _overview(url: str, first: WorkerReading, second: WorkerReading, interval_s: float) -> Table:
    table = Table(title=f"worker {url}", show_header=False)
    ready = "[green]ready[/green]" if second.ready else f"[red]not ready[/red] {second.ready_detail}"
    table.add_row("readiness", ready)
    events = second.total("churnwatch_events_in_total") - first.total("churnwatch_events_in_total")
    table.add_row("throughput", f"{events / interval_s:,.0f} events/s over {interval_s:g} s")
    table.add_row("events read", f"{second.total('churnwatch_events_in_total'):,.0f}")
    table.add_row("total lag", f"{second.total('churnwatch_consumer_lag'):,.0f} records")
    dead = second.by("churnwatch_dead_letters_total", "reason")
    table.add_row("dead letters", ", ".join(f"{k} {v:,.0f}" for k, v in sorted(dead.items())) or "0")
    table.add_row(
        "alerts",
        ", ".join(f"{k} {v:,.0f}" for k, v in sorted(second.by("churnwatch_alerts_total", "zone").items()))
        or "0",
    )
    table.add_row("Redis outages", f"{second.total('churnwatch_redis_outages_total'):,.0f}")
    return table


def _lag(reading: WorkerReading) -> Table:
    table = Table(title="lag per input partition")
    for column in ("topic", "partition", "lag"):
        table.add_column(column, justify="right" if column != "topic" else "left")
    rows = sorted(
        (labels.get("topic", ""), int(labels.get("partition", "0")), value)
        for labels, value in reading.samples.get("churnwatch_consumer_lag", [])
        if not labels.get("topic", "").startswith("churnwatch-__")  # the framework's own topics
    )
    for topic, partition, value in rows:
        table.add_row(topic, str(partition), f"{value:,.0f}")
    return table


def _model(reading: WorkerReading) -> Table:
    table = Table(title="model", show_header=False)
    versions = [labels for labels, value in reading.samples.get("churnwatch_model_info", []) if value == 1]
    for labels in versions:
        table.add_row("in use", f"{labels.get('model_version', '?')} ({labels.get('source', '?')})")
    table.add_row("model share", f"{reading.total('churnwatch_model_weight'):.2f}")
    table.add_row("examples learned", f"{reading.total('churnwatch_model_examples_learned'):,.0f}")
    quality = {
        (labels.get("scorer"), labels.get("metric")): value
        for labels, value in reading.samples.get("churnwatch_model_quality", [])
    }
    for scorer in ("model_recent", "rules_recent", "model", "rules"):
        auc = quality.get((scorer, "roc_auc"))
        if auc is not None:
            table.add_row(f"ROC AUC, {scorer.replace('_recent', ', recent window')}", f"{auc:.3f}")
    return table
