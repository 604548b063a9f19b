"""``churnwatch schemas export DIR``: the versioned JSON Schema files upstream systems code against."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from schemas.export import export_schemas

app = typer.Typer(help="Event and output contracts.", no_args_is_help=True)


@app.command("export")
def export(directory: Annotated[Path, typer.Argument(help="where to write the *.json files")]) -> None:
    """Write the JSON Schema of every event and output contract."""
    for path in export_schemas(directory):
        typer.echo(str(path))
