"""Running the desk scenarios (tools/bench/desk_scenarios.py) with the agent, or with no agent at all.

Each scenario opens fresh on the bench's Xvfb (a page in Chromium app mode, or the Tk window), waits until its
verdict script runs and the window takes input, gives the agent the scenario's instruction and then reads the
verdict from the window title (xdotool), which the agent never sees. `agent=None` is the do-nothing agent: the
screen is left alone for as long as a short run takes, and every scenario must then fail (the pages judge the
untouched state a failure), which shows that no scenario passes by itself.
"""

from __future__ import annotations

import html
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

from omnirt.tools.bench.desk_scenarios import Scenario

VERDICT_PREFIX = "desk "
IDLE_SECONDS = 2.0  # what the do-nothing agent waits: longer than any page needs to judge a change


def verdict(display: str) -> str:
    """The scenario window's verdict ('pass', 'fail: WHY', 'loading'), or '' when no window shows one."""
    from omnirt.agents.display import window_names

    return next((n[len(VERDICT_PREFIX):] for n in window_names(display) if n.startswith(VERDICT_PREFIX)), "")


def _wait_verdict(display: str, ready: Callable[[str], bool], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    v = verdict(display)
    while not ready(v) and time.monotonic() < deadline:
        time.sleep(0.1)
        v = verdict(display)
    return v


class _Window:
    """The scenario's window: Chromium on its page, or the Tk process; stop() ends it."""

    def __init__(self, scenario: Scenario, display: Any, folder: Path) -> None:
        from omnirt.agents.display import Browser, page_url

        self._browser = self._tk = None
        if scenario.tk:
            self._tk = subprocess.Popen([sys.executable, "-m", "omnirt.tools.bench.desk_tk", json.dumps(scenario.want)],
                                        env=display.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        else:
            page = folder / f"{scenario.name}.html"
            page.write_text(scenario.page())
            self._browser = Browser(display, page_url(page)).start()

    def stop(self) -> None:
        if self._browser is not None:
            self._browser.stop()
        if self._tk is not None:
            self._tk.terminate()
            self._tk.wait(5)


def run_scenario(scenario: Scenario, agent: Any, display: Any, folder: Path) -> dict[str, Any]:
    """One scenario from a fresh window: {name, ok, verdict, status, summary, seconds, steps}."""
    window = _Window(scenario, display, folder)
    status, summary, steps, seconds, by_llm = "idle", "", 0, 0.0, 0
    try:
        first = _wait_verdict(display.name, lambda v: v.startswith(("pass", "fail")), 20.0)
        if not first:
            return {"name": scenario.name, "ok": False, "verdict": "window never showed a verdict", "status": "error",
                    "summary": "", "seconds": 0.0, "steps": 0, "llm_steps": 0}
        time.sleep(1.0)  # Chromium ignores input for a moment after its first paint
        if agent is None:
            time.sleep(IDLE_SECONDS)
        else:
            agent.config.record = folder / scenario.name
            t0 = time.monotonic()
            result = agent.run(scenario.instruction)
            seconds = time.monotonic() - t0
            status, summary = result.status, result.summary
            steps = sum(s.action.get("action") not in ("done", "wait") for s in result.steps)
            by_llm = sum(s.decider == "llm" for s in result.steps)
        time.sleep(0.5)  # the page judges its state every 100 ms
        final = verdict(display.name)
    finally:
        window.stop()
    return {"name": scenario.name, "ok": final == "pass", "verdict": final, "status": status,
            "summary": summary[:300], "seconds": round(seconds, 2), "steps": steps, "llm_steps": by_llm}


def run_scenarios(scenarios: tuple[Scenario, ...], agent: Any, display: Any, folder: Path,
                  console: Any) -> list[dict[str, Any]]:
    """Every scenario once; one line printed per scenario as it ends."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for sc in scenarios:
        r = run_scenario(sc, agent, display, folder)
        r["group"] = _group(sc)
        r["instruction"], r["covers"] = sc.instruction, sc.covers
        out.append(r)
        console.print(f"scenario {sc.name} ({r['group']}): {'ok' if r['ok'] else 'FAILED'} - verdict "
                      f"{r['verdict']!r}; agent {r['status']}: {r['summary'][:120]!r}; {r['steps']} actions "
                      f"({r['llm_steps']} steps decided by the LLM fallback), {r['seconds']} s",
                      soft_wrap=True, highlight=False)
    return out


def _group(scenario: Scenario) -> str:
    from omnirt.tools.bench.desk_heldout import HELDOUT
    from omnirt.tools.bench.desk_heldout2 import HELDOUT2

    return "heldout" if scenario in HELDOUT else "heldout2" if scenario in HELDOUT2 else "dev"


def success_line(results: list[dict[str, Any]]) -> str:
    """'dev 6/8, heldout 3/5' for the groups present."""
    groups = sorted({r["group"] for r in results})
    return ", ".join(f"{g} {sum(r['ok'] for r in results if r['group'] == g)}/"
                     f"{sum(r['group'] == g for r in results)}" for g in groups)


def report_rows(results: list[dict[str, Any]]) -> str:
    """The scenario table of the bench's report.html."""
    rows = "".join(f"<tr><td><a href='scenarios/{r['name']}/report.html'>{r['name']}</a></td><td>{r['group']}</td>"
                   f"<td>{html.escape(r['instruction'])}</td><td>{'ok' if r['ok'] else 'FAILED'}</td>"
                   f"<td>{html.escape(r['verdict'])}</td><td>{html.escape(r['status'])}: "
                   f"{html.escape(r['summary'][:160])}</td><td>{r['steps']}</td><td>{r['seconds']}</td></tr>"
                   for r in results)
    return (f"<h2>Scenarios: {html.escape(success_line(results))}</h2><table border=1><tr><th>scenario</th>"
            f"<th>group</th><th>instruction</th><th>result</th><th>page verdict</th><th>agent</th><th>actions</th>"
            f"<th>s</th></tr>{rows}</table>")
