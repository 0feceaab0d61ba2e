"""The agent is a library: nothing in agents/ imports the commands, benchmarks or test harness in tools/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

AGENTS = Path(__file__).resolve().parents[2] / "agents"


def test_agents_import_nothing_from_tools():
    modules = sorted(f"omnirt.agents.{p.stem}" for p in AGENTS.glob("*.py") if p.stem != "__init__")
    code = (f"import importlib, sys\nfor m in {modules!r}:\n    importlib.import_module(m)\n"
            "bad = sorted(m for m in sys.modules if m.startswith('omnirt.tools'))\n"
            "print(bad)\nsys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    for path in AGENTS.glob("*.py"):  # also the imports made only inside functions
        text = path.read_text()
        assert "omnirt.tools" not in text and "from ..tools" not in text, path.name
