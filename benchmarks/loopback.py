"""Starting ``relenc serve`` for a benchmark: a free loopback port, and a server process that answers /health.

Shared by ``serve_load.py`` and ``abuse.py`` (run as scripts, they import it from this folder).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def launch(command: list[str], port: int, log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Run ``command`` (a ``relenc serve`` on ``port``) with its output in ``log``; return once /health answers 200.

    Exits the benchmark with the server's log if the server dies, or does not answer within 300 s.
    """
    with log.open("wb") as out:
        server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    deadline = time.time() + 300
    while time.time() < deadline:
        if server.poll() is not None:
            sys.exit(f"the server exited with code {server.returncode}; its log:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    server.kill()
    sys.exit(f"the server did not answer /health within 300 s; its log: {log}")
