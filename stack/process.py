"""A server child process that is ready when its TCP port accepts connections."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from stack.errors import StackError, StartupTimeoutError


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (the OS picks it).

    >>> 1024 < free_port() < 65536
    True
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_accepts(host: str, port: int, timeout_s: float = 0.2) -> bool:
    """Whether something listens on host:port right now."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


@dataclass
class ServerProcess:
    """A started child process; ``stop`` terminates it and its process group."""

    name: str
    host: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self, grace_s: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after ``grace_s``; safe to call twice."""
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=grace_s)

    @property
    def running(self) -> bool:
        return self.process.poll() is None


def start_server(
    name: str,
    argv: Sequence[str],
    host: str,
    port: int,
    log_path: Path,
    ready_timeout_s: float = 15.0,
    env: dict[str, str] | None = None,
) -> ServerProcess:
    """Start ``argv`` in its own process group and wait until ``port`` accepts connections.

    The child gets ``PR_SET_PDEATHSIG``-like cleanup from the caller's ``stop`` (and the
    stack's signal handlers); output goes to ``log_path`` so failures can be read.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_file = log_path.open("ab")
    try:
        process = subprocess.Popen(
            list(argv),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
        )
    finally:
        log_file.close()
    server = ServerProcess(name, host, port, process, log_path)
    deadline = time.monotonic() + ready_timeout_s
    while not port_accepts(host, port):
        if process.poll() is not None:
            raise StackError(
                f"{name} exited with code {process.returncode} before listening on {port}; "
                f"see {log_path}"
            )
        if time.monotonic() >= deadline:
            server.stop()
            raise StartupTimeoutError(
                f"{name} did not listen on {host}:{port} within {ready_timeout_s}s; see {log_path}"
            )
        time.sleep(0.02)
    return server
