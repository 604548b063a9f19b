"""``churnwatch scores export``: the current risk list of every scored customer, as CSV or Parquet."""

from __future__ import annotations

import asyncio
import csv
from dataclasses import asdict, fields
from pathlib import Path
from typing import Annotated

import pyarrow as pa
import pyarrow.parquet as pq
import typer
from pydantic import ValidationError

from policy.contact_outcomes import RecordedOutcome
from policy.risk_list import RiskRow, risk_list
from policy.suppression import SuppressionReason
from schemas.outputs import Alert, Prediction
from stack.state import NO_BROKER_FIX, broker_answers, redis_answers, resolve
from store.client import connect_redis
from store.contact_outcomes import ContactOutcomeStore
from store.suppressions import SuppressionStore
from streams.errors import TopicReadError
from streams.settings import Settings
from streams.topic_reader import read_topics

app = typer.Typer(help="Customers' current scores.", no_args_is_help=True)


@app.command("export")
def export(
    out: Annotated[Path, typer.Option(help="The file to write: .csv or .parquet.")],
    timeout_s: Annotated[float, typer.Option(min=0.1, help="Give up reading the topics after this.")] = 120.0,
) -> None:
    """Every scored customer's latest score, zone, tier, value at risk and priority (highest first),
    with the reasons and action of their latest alert, whether they are suppressed and the outcome of
    the team's latest contact (recorded on the retention queue page)."""
    if out.suffix not in (".csv", ".parquet"):
        raise typer.BadParameter("--out must end in .csv or .parquet")
    settings = Settings()
    addresses = resolve(settings.bootstrap, settings.redis_url)
    if addresses.kafka_bootstrap is None or not broker_answers(addresses.kafka_bootstrap):
        typer.echo(
            f"cannot reach the broker at {addresses.kafka_bootstrap or '(none set)'}: {NO_BROKER_FIX}",
            err=True,
        )
        raise typer.Exit(2)
    typer.echo(addresses.describe(), err=True)
    topics = settings.topics
    try:
        records = asyncio.run(
            read_topics(addresses.kafka_bootstrap, [topics.predictions, topics.alerts], timeout_s)
        )
    except TopicReadError as error:
        typer.echo(f"cannot read the topics: {error}", err=True)
        raise typer.Exit(2) from error
    predictions, alerts = [], []
    for record in records:
        try:
            if record.topic == topics.predictions:
                predictions.append(Prediction.model_validate_json(record.value or b""))
            else:
                alerts.append(Alert.model_validate_json(record.value or b""))
        except ValidationError:
            continue  # the worker writes these topics; anything else on them is not ours to export
    suppressed, outcomes = _team_records(settings, addresses.redis_url, [p.customer_id for p in predictions])
    rows = risk_list(predictions, alerts, suppressed, settings.policy, outcomes)
    _write(rows, out)
    typer.echo(f"{len(rows):,} customers written to {out}", err=True)


def _team_records(
    settings: Settings, redis_url: str | None, customer_ids: list[str]
) -> tuple[dict[str, SuppressionReason], dict[str, RecordedOutcome]]:
    """Suppression reasons and contact outcomes from the deployment's Redis; none when it is not
    reachable (said so)."""
    if redis_url is None or not redis_answers(redis_url):
        typer.echo("Redis not reachable: the suppressed and outcome columns are left empty", err=True)
        return {}, {}

    async def read() -> tuple[dict[str, SuppressionReason], dict[str, RecordedOutcome]]:
        redis = connect_redis(redis_url, settings.redis_cluster, settings.redis.timeout_s)
        prefix = settings.features.key_prefix
        ordered = sorted(set(customer_ids))
        try:
            suppressed = await SuppressionStore(redis, prefix).reasons(ordered)
            return suppressed, await ContactOutcomeStore(redis, prefix).latest(ordered)
        finally:
            await redis.aclose()

    return asyncio.run(read())


def _write(rows: list[RiskRow], out: Path) -> None:
    columns = [f.name for f in fields(RiskRow)]
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".parquet":
        table = (
            pa.Table.from_pylist([asdict(row) for row in rows], schema=_schema())
            if rows
            else _schema().empty_table()
        )
        pq.write_table(table, out)
        return
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            values = asdict(row)
            values["as_of"] = row.as_of.isoformat()
            writer.writerow(values)


def _schema() -> pa.Schema:
    numbers = {
        "score": pa.float64(),
        "value_at_risk": pa.float64(),
        "priority": pa.float64(),
        "silent_days": pa.int32(),
    }
    return pa.schema(
        [
            (f.name, pa.timestamp("us", tz="UTC") if f.name == "as_of" else numbers.get(f.name, pa.string()))
            for f in fields(RiskRow)
        ]
    )
