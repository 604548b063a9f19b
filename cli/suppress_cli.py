"""``churnwatch suppress add|remove|list``: customers whose alerts are held back, with a reason."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from policy.suppression import Suppression, SuppressionReason
from stack.state import redis_answers, resolve
from store.client import connect_redis
from store.suppressions import SuppressionStore
from streams.settings import Settings

app = typer.Typer(help="Customers not to be alerted (do not contact, handled).", no_args_is_help=True)

_T = TypeVar("_T")


def _with_store(action: Callable[[SuppressionStore], Awaitable[_T]]) -> _T:
    """Run ``action`` against the deployment's suppression list (settings, else the recorded stack)."""
    settings = Settings()
    addresses = resolve(settings.bootstrap, settings.redis_url)
    if addresses.redis_url is None or not redis_answers(addresses.redis_url):
        typer.echo(
            f"cannot reach Redis at {addresses.redis_url or '(none set)'}: set CHURNWATCH_REDIS_URL, "
            "or run `churnwatch stack up` in this directory",
            err=True,
        )
        raise typer.Exit(2)

    async def run() -> _T:
        redis = connect_redis(addresses.redis_url or "", settings.redis_cluster, settings.redis.timeout_s)
        try:
            return await action(SuppressionStore(redis, settings.features.key_prefix))
        finally:
            await redis.aclose()

    return asyncio.run(run())


@app.command("add")
def add(
    customer_id: Annotated[str, typer.Argument(help="The customer's id, as in the events.")],
    reason: Annotated[SuppressionReason, typer.Option(help="Why the customer is not to be alerted.")],
    note: Annotated[str, typer.Option(help="Free text for the team (who asked, a case number).")] = "",
) -> None:
    """Hold back this customer's alerts from now on (replaces an earlier entry)."""
    suppression = Suppression(customer_id, reason, note, datetime.now(UTC))
    _with_store(lambda store: store.add(suppression))
    typer.echo(f"suppressed {customer_id}: {reason.value}")


@app.command("remove")
def remove(customer_id: Annotated[str, typer.Argument(help="The customer's id.")]) -> None:
    """Alert this customer again."""
    removed = _with_store(lambda store: store.remove(customer_id))
    typer.echo(f"{customer_id} {'removed' if removed else 'was not suppressed'}")


@app.command("list")
def list_command() -> None:
    """Every suppressed customer with the reason, note and when it was added."""
    entries = _with_store(lambda store: store.all())
    table = Table(title=f"{len(entries)} suppressed customer(s)")
    for column in ("customer", "reason", "added", "note"):
        table.add_column(column)
    for entry in entries:
        table.add_row(
            entry.customer_id, entry.reason.value, entry.added_at.isoformat(timespec="seconds"), entry.note
        )
    Console().print(table)
