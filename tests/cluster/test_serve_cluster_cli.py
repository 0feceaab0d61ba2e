"""`omnirt serve --cluster` with an address it cannot use: one line and exit 2, before any model loads."""

import asyncio
import os
import signal
import subprocess
import sys
import time

import pytest

pytest.importorskip("ray", reason="needs the cluster extra: pip install 'omnirt[cluster]'")


@pytest.mark.parametrize("address, says", [
    ("local:0", "--cluster local:N needs N between 1 and 64, not '0'"),
    ("nonsense", "--cluster takes local:N, auto, ray://HOST:PORT or HOST:PORT, not 'nonsense'"),
    ("127.0.0.1:1", "cannot reach the Ray cluster at 127.0.0.1:1 (Connection refused)"),
])
def test_an_unusable_cluster_address_is_one_line(address, says):
    r = subprocess.run([sys.executable, "-m", "omnirt.tools.cli", "serve", "--cluster", address, "--port", "0"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip() == f"omnirt: error: {says}"
    assert "Traceback" not in r.stdout + r.stderr


def descendants(pid: int) -> set[int]:
    """Every process below pid (from /proc/*/stat parent ids)."""
    parents = {}
    for p in filter(str.isdigit, os.listdir("/proc")):
        try:
            parents[int(p)] = int(open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    found, todo = set(), [pid]
    while todo:
        pid = todo.pop()
        kids = [c for c, parent in parents.items() if parent == pid]
        found.update(kids)
        todo += kids
    return found


def alive(pid: int) -> bool:
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.models
@pytest.mark.slow
def test_a_local_cluster_serves_through_the_command_and_leaves_no_process_behind():
    from omnirt.tools.rtc_client import ClientOptions, RTCClient

    server = subprocess.Popen([sys.executable, "-m", "omnirt.tools.cli", "serve", "--cluster", "local:2", "--port", "0",
                               "--max-sessions", "1", "--no-vision"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
    try:
        lines = []
        for line in server.stdout:
            lines.append(line)
            if line.startswith("ready: open "):
                break
        assert lines and lines[-1].startswith("ready: open "), "".join(lines)
        url = lines[-1].split()[2]
        assert sum("session slots" in line for line in lines) == 2, "".join(lines)  # a host on each node
        ray_processes = descendants(server.pid)
        assert len(ray_processes) >= 4  # two raylets, the GCS, two hosts' workers ...

        async def connect() -> None:
            async with RTCClient(url, ClientOptions(loopback_only=False)) as client:
                assert client.channel.readyState == "open"

        asyncio.run(connect())
        server.send_signal(signal.SIGINT)
        rest = server.communicate(timeout=60)[0]
        assert server.returncode == 0, rest
        assert "Traceback" not in "".join(lines) + rest
        assert "session placed on host" in rest and "stopped\n" in rest  # (Ray forwards hosts' lines late)
        deadline = time.monotonic() + 15
        while any(alive(p) for p in ray_processes) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [p for p in ray_processes if alive(p)], "Ray processes outlived `omnirt serve --cluster`"
    finally:
        if server.poll() is None:  # a failed check: stop it as a user would, so that it stops its cluster
            server.send_signal(signal.SIGINT)
            try:
                server.wait(60)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
