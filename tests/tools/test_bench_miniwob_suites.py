"""The MiniWoB++ suites of `omnirt bench miniwob --suite` (no browser): DEV and HELDOUT are disjoint, HELDOUT is big
enough, every task is a page of the installed miniwob package, `--suite` selects them and a bad suite or task is a
one-line error with exit status 2; and agents/ names no held-out task (no per-task rules for tasks kept for
measuring)."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import pytest

from omnirt.agents.miniwob_env import html_root
from omnirt.tools.bench import miniwob as bench
from omnirt.tools.bench.miniwob_suites import DEV, HELDOUT, SUITES

ROOT = Path(__file__).resolve().parents[2]


def parse(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    bench.add_arguments(p)
    return p.parse_args(list(argv))


def test_suites_are_disjoint_and_heldout_is_big_enough():
    assert not set(DEV) & set(HELDOUT)
    assert len(HELDOUT) >= 25 and len(set(HELDOUT)) == len(HELDOUT) and len(set(DEV)) == len(DEV)
    assert SUITES["all"] == DEV + HELDOUT


def test_every_task_is_a_page_of_the_installed_package():
    pages = html_root() / "miniwob"
    missing = [t for t in DEV + HELDOUT if not (pages / f"{t}.html").is_file()]
    assert not missing, f"not MiniWoB++ task pages in {pages}: {missing}"


@pytest.mark.parametrize("suite", ["dev", "heldout", "all"])
def test_suite_selects_its_tasks(suite):
    args = parse("--suite", suite)
    assert args.suite == suite and bench.select_tasks(args.suite, args.tasks) == list(SUITES[suite])


def test_tasks_alone_and_as_a_subset_of_a_suite():
    assert bench.select_tasks(None, None) == bench.DEFAULT_TASKS.split(",")
    assert bench.select_tasks(None, "click-button, enter-text") == ["click-button", "enter-text"]
    assert bench.select_tasks("heldout", ",".join(HELDOUT[:2])) == list(HELDOUT[:2])


@pytest.mark.parametrize("suite, tasks, says", [
    ("nope", None, "unknown --suite 'nope'"),
    (None, "no-such-task", "unknown MiniWoB task(s): no-such-task"),
    ("heldout", DEV[0], f"not in suite heldout: {DEV[0]}"),
])
def test_bad_suite_or_task_is_refused_with_exit_2(capsys, suite, tasks, says):
    with pytest.raises(SystemExit) as e:
        bench.select_tasks(suite, tasks)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1


def test_bad_suite_from_the_command_line():
    r = subprocess.run([sys.executable, "-m", "omnirt.tools.cli", "bench", "miniwob", "--suite", "nope"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == ["omnirt: error: unknown --suite 'nope' (choose from dev, heldout, all)"]


def test_agents_name_no_heldout_task():
    """A held-out task's name anywhere in agents/ (code, comments, data) is a sign of a rule made for it."""
    pattern = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, HELDOUT)) + r")(?![\w-])")
    hits = [f"{p.relative_to(ROOT)}:{n}: {m.group(1)}"
            for p in sorted((ROOT / "agents").rglob("*")) if p.is_file() and p.suffix in (".py", ".json", ".txt")
            for n, line in enumerate(p.read_text(errors="replace").splitlines(), 1)
            for m in pattern.finditer(line)]
    assert not hits, "held-out tasks are for measuring only; agents/ names: " + "; ".join(hits)


def test_the_table_prints_the_hosts_speed_beside_the_step_times():
    """Step times mean little without the CPU probe (the shared machines differ by up to 1.5x)."""
    lines: list[str] = []

    class Console:
        def print(self, text, markup=True):
            lines.append(text)

    stats = {"success": 0.5, "mean_reward": 0.1, "median_step_ms": 80.0, "median_decide_ms": 0.2}
    result = {"suite": "dev", "tasks": {"click-button": stats}, "overall": stats}
    bench.print_table(result, None, Console())
    assert not any("CPU probe" in line for line in lines)
    bench.print_table({**result, "cpu_probe_ms": [9.04, 10.5]}, None, Console())
    assert lines[-1].startswith("machine: CPU probe 9.0 ms before, 10.5 ms after")
