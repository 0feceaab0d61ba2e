"""What the benchmarks run beside their clients: `omnirt serve` in a process of its own, and idle sessions.

The server runs as a user runs it (`omnirt serve` and the given options, on a free loopback port), in its own
process so that the client shares no CPU lock with it. Its log is read as it goes: why it closed sessions is counted.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from typing import Any


class ServerProcess:
    """`omnirt serve OPTIONS` on a free loopback port; entering gives its URL once it says it is ready."""

    def __init__(self, options: list[str]) -> None:
        self.cmd = [sys.executable, "-m", "omnirt.tools.cli", "serve", "--port", str(free_port()), *options]
        self.proc: subprocess.Popen | None = None
        self.closed: dict[str, int] = {}  # why the server closed sessions (its log), by reason
        self.checked: dict[str, int] = {}  # speculative cuts the ASR checked (its log), by outcome
        self.cuts_checked = 0  # their number so far, read while the run goes on (the dict grows in another thread)

    def _drain(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            for key, counts in (("closing session (", self.closed), ("speculative cut checked (", self.checked)):
                if key in line:
                    why = line.split(key, 1)[1].split(")", 1)[0]
                    counts[why] = counts.get(why, 0) + 1
                    if counts is self.checked:
                        self.cuts_checked += 1

    def __enter__(self) -> str:
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert self.proc.stdout is not None
        lines: list[str] = []
        for line in self.proc.stdout:
            lines.append(line)
            if line.startswith("ready: open "):
                threading.Thread(target=self._drain, daemon=True).start()  # keep the pipe drained
                return line.split("ready: open ")[1].split()[0]
        raise SystemExit("omnirt: error: the server did not start: " + "".join(lines[-3:]).strip())

    def __exit__(self, *exc: object) -> None:
        if self.proc:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stats(url: str) -> dict[str, Any]:
    """The server's /stats, or {} when it does not answer."""
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/stats", timeout=5) as r:
            return json.loads(r.read())
    except OSError:
        return {}


def start_idle(url: str, n: int, uplink: str) -> subprocess.Popen:
    """N idle listening sessions in their own process (tools/bench/idle.py), connected before this returns."""
    proc = subprocess.Popen([sys.executable, "-m", "omnirt.tools.bench.idle", url, str(n), uplink],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        proc.kill()
        raise SystemExit("omnirt: error: the idle sessions could not connect")
    return proc


def stop_idle(proc: subprocess.Popen) -> dict[str, list[float]]:
    out, _ = proc.communicate(input="", timeout=60)
    lines = [line for line in out.splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if lines else {}
