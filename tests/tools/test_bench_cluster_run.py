"""`omnirt bench cluster` as a person runs it, once and short: `omnirt serve --cluster local:2` in its own process,
two aiortc clients through its front door, one question each, and the node holding a session killed (SIGKILL to
every process of the node) once half the turns are answered. The issue's line must say every session was placed,
every turn answered, and the lost node's session re-placed and answered."""

import json
import re
import subprocess
import sys

import pytest

pytest.importorskip("ray", reason="needs the cluster extra: pip install 'omnirt[cluster]'")

pytestmark = [pytest.mark.models, pytest.mark.slow]


def test_two_nodes_two_sessions_and_a_node_killed(tmp_path):
    out = tmp_path / "cluster.json"
    proc = subprocess.run([sys.executable, "-m", "omnirt.tools.cli", "bench", "cluster", "--nodes", "2",
                           "--sessions", "2", "--turns", "1", "--gap-s", "0.5,1", "--kill-node", "--json", str(out)],
                          capture_output=True, text=True, timeout=240)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("cluster: ")), "")
    assert re.fullmatch(r"cluster: placed 2/2 sessions on 2 nodes; answered 2/2 turns; node lost: 1 sessions "
                        r"re-placed, 1/1 answered; voice-to-voice p50 \d+ p95 \d+ ms", line), proc.stdout + proc.stderr
    assert proc.returncode == 0
    summary = json.loads(out.read_text())
    (move,) = summary["node_loss"]["moves"]
    assert 0 < move["back_s"] < move["answered_s"]  # back on the other node, then heard answering there
    assert out.with_suffix(".html").read_text().count("<tr>") == 1 + len(summary["records"])
    assert "CPU probe" in proc.stdout
