"""`omnirt bench cluster` and `bench capacity`, their pure parts: the issue's line from recorded results, where a
capacity curve reaches a p95, the sessions spread as the front door spreads them, `omnirt simulate --nodes`, and a
local node's processes found, pinned to a core and killed (a real process tree standing in for a raylet)."""

import argparse
import json
import os
import subprocess
import sys
import time

import pytest

from omnirt.tools.bench.capacity import sessions_at
from omnirt.tools.bench.cluster import summarize, summary_line
from omnirt.tools.bench.cluster_nodes import kill_node, local_nodes, pin
from omnirt.tools.simulate import node_loads


def recorded(v2v, **extra):
    return {"session": 0, "question": "q", "answered": v2v is not None, "voice_to_voice_ms": v2v, **extra}


def test_the_issue_s_line_from_recorded_results():
    args = argparse.Namespace(nodes=2, sessions=3, turns=2)
    records = [recorded(900.0), recorded(1000.0), recorded(None, cut_by_move=True), recorded(1100.0),
               recorded(1200.0), recorded(None, error="TimeoutError"), recorded(1300.0)]
    loss = {"lost": 2, "replaced": 2, "answered": 1, "moves": []}
    s = summarize(args, {"placed": 3, "nodes_used": 2, "refused": []}, records, loss)
    assert s["answered"] == 5 and s["planned"] == 6 and s["cut_by_move"] == 1  # the cut turn asked again: once
    assert summary_line(s) == ("cluster: placed 3/3 sessions on 2 nodes; answered 5/6 turns; node lost: 2 sessions "
                               "re-placed, 1/2 answered; voice-to-voice p50 1100 p95 1280 ms")
    s["node_loss"] = {**loss, "replaced": 1}
    assert "node lost: 1/2 sessions re-placed" in summary_line(s)


def test_capacity_is_read_where_the_curve_reaches_the_limit():
    curve = [(1, 1000.0), (2, 1100.0), (3, 1500.0), (4, 2500.0)]
    assert sessions_at(curve, 1300.0) == (2.5, "reached")
    assert sessions_at(curve, 5000.0) == (4.0, "not reached")
    assert sessions_at(curve, 900.0) == (1.0, "above")


def test_sessions_spread_over_nodes_as_the_front_door_places_them():
    assert node_loads(2, 5) == [3, 2]
    assert node_loads(3, 2) == [1, 1, 0]
    assert node_loads(1, 4) == [4]


def test_simulate_nodes_on_the_command_line(tmp_path):
    out = tmp_path / "two.json"
    proc = subprocess.run([sys.executable, "-m", "omnirt.tools.cli", "simulate", "--turns", "1000", "--nodes", "2",
                           "--sessions", "6", "--cores", "1", "--json", str(out)],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "160"})
    assert proc.returncode == 0, proc.stderr
    assert "6 session(s) on 2 node(s) of 1 CPU core(s) (per node: 3, 3)" in proc.stdout
    assert json.loads(out.read_text())["sessions"] == 6
    bad = subprocess.run([sys.executable, "-m", "omnirt.tools.cli", "simulate", "--nodes", "0"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_local_node_is_found_pinned_and_killed():
    # a stand-in server: it starts a "raylet" (argv[0] and --node_id as Ray's) that starts a worker
    server = subprocess.Popen(["bash", "-c", 'bash -c "exec -a raylet bash -c \'sleep 60 & wait\' x --node_id=ab12"'
                               " & wait"])
    try:
        deadline = time.monotonic() + 10
        while not (nodes := local_nodes(server.pid)) or len(nodes[0][1]) < 2:
            assert time.monotonic() < deadline, "the stand-in node did not start"
            time.sleep(0.05)
        (node, pids), = nodes
        assert node.node_id == "ab12" and node.raylet in pids and len(pids) == 2  # the raylet and its worker
        core = max(os.sched_getaffinity(0))
        assert pin(pids, {core}) >= 2
        assert all(os.sched_getaffinity(pid) == {core} for pid in pids)
        assert kill_node(server.pid, "ab12") == 2
        server.wait(10)  # its only child was the node: it ends when the node is gone
        assert local_nodes(server.pid) == []
    finally:
        server.kill()
