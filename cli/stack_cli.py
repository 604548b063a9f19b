"""``churnwatch stack up|down|status``: the embedded broker and Redis for local runs."""

from __future__ import annotations

import json
import os
import signal
from typing import Annotated

import typer

from stack.embedded import running_stack, start_stack
from stack.process import port_accepts
from stack.state import STATE_FILE

app = typer.Typer(help="Embedded Kafka-protocol broker and Redis server.", no_args_is_help=True)



@app.command("up")
def up(
    foreground: Annotated[bool, typer.Option(help="stay attached; Ctrl-C stops the stack")] = False,
) -> None:
    """Start the broker and Redis on free ports and print the settings that point at them."""
    if foreground:
        with running_stack(STATE_FILE.parent / "stack") as stack:
            _print_env(stack.kafka_bootstrap, stack.redis_url)
            typer.echo("stack running; Ctrl-C to stop")
            try:
                signal.pause()
            except KeyboardInterrupt:
                typer.echo("stopping")
        return
    if STATE_FILE.exists():
        typer.echo(f"a stack is already recorded in {STATE_FILE}; run `churnwatch stack down` first")
        raise typer.Exit(1)
    stack = start_stack(STATE_FILE.parent / "stack")
    STATE_FILE.write_text(
        json.dumps(
            {
                "kafka_bootstrap": stack.kafka_bootstrap,
                "redis_url": stack.redis_url,
                "children": [
                    {"name": c.name, "pid": c.process.pid, "host": c.host, "port": c.port}
                    for c in stack.children
                ],
            },
            indent=2,
        )
    )
    _print_env(stack.kafka_bootstrap, stack.redis_url)


@app.command("status")
def status() -> None:
    """Show the recorded stack and whether each part answers."""
    if not STATE_FILE.exists():
        typer.echo("no stack running (no state file)")
        raise typer.Exit(1)
    state = json.loads(STATE_FILE.read_text())
    healthy = True
    for child in state["children"]:
        up_now = port_accepts(child["host"], child["port"])
        healthy &= up_now
        typer.echo(f"{child['name']:6} pid {child['pid']:>7}  {child['host']}:{child['port']}  "
                   f"{'up' if up_now else 'DOWN'}")
    if not healthy:
        raise typer.Exit(1)


@app.command("down")
def down() -> None:
    """Stop the recorded stack."""
    if not STATE_FILE.exists():
        typer.echo("no stack running")
        return
    state = json.loads(STATE_FILE.read_text())
    for child in state["children"]:
        try:
            os.killpg(child["pid"], signal.SIGTERM)
            typer.echo(f"stopped {child['name']} (pid {child['pid']})")
        except ProcessLookupError:
            typer.echo(f"{child['name']} (pid {child['pid']}) was not running")
    STATE_FILE.unlink()


def _print_env(kafka_bootstrap: str, redis_url: str) -> None:
    typer.echo(f"export CHURNWATCH_KAFKA_BOOTSTRAP={kafka_bootstrap}")
    typer.echo(f"export CHURNWATCH_REDIS_URL={redis_url}")
