"""`omnirt bench desk`: the agent's step time on a whole 1280x800 screen, where full-screen OCR takes over a second.

A busy 1280x800 page (navigation bar, folder list, an order form, a table of orders) in Chromium on its own Xvfb;
`omnirt agent`'s machinery fills in the form by pixels over the WHOLE screen, `--runs` times, each from a freshly
loaded page. Per step: capture, ground, decide and act times from the recorded trajectory (the step time is
screenshot -> action issued; the wait for the screen to settle is reported apart). The first step of a run has to
read the whole screen; later steps re-read only what changed, which is what the median shows. Success is read from
the window title the page sets when Save is clicked with the right values (xdotool; the agent never sees it).

Then the everyday-application scenarios (tools/bench/desk_scenarios.py, run by tools/bench/desk_run.py), once each:
one line per scenario, their success rate per group (dev / heldout) in desk.json and report.html. `--agent nothing`
runs them with a do-nothing agent, which must score 0.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Orders</title><style>
body{font-family:Arial, sans-serif;font-size:14px;margin:0;color:#222;background:#fff}
header{background:#f3f3f3;border-bottom:1px solid #ccc;padding:10px 16px} header a{margin-right:18px;color:#1a4fd6}
aside{position:absolute;left:0;top:44px;width:210px;bottom:0;border-right:1px solid #ddd;padding:10px}
aside li{margin:6px 0} main{position:absolute;left:240px;top:54px;right:20px}
table{border-collapse:collapse;margin-top:10px} td,th{border:1px solid #ccc;padding:4px 10px} .hidden{display:none}
</style></head><body>
<header><a href="#">Home</a><a href="#">Orders</a><a href="#">Customers</a><a href="#">Products</a><a href="#">Reports</a>
<a href="#">Settings</a><a href="#">Help</a></header>
<aside><b>Folders</b><ul><li>Inbox (12)</li><li>Drafts</li><li>Sent mail</li><li>Archive 2023</li><li>Archive 2024</li>
<li>Invoices</li><li>Receipts</li><li>Travel</li><li>Family photos</li><li>Projects</li><li>Taxes</li><li>Spam</li>
<li>Trash</li></ul></aside>
<main><h2>New order</h2>
<p>Fill in the customer details below and press Save. Orders placed before 4 pm ship the same day; later orders ship on
the next working day.</p>
<label>Customer name <input id="name" size="30"></label><br><br>
<label>Email address <input id="email" size="30"></label><br><br>
<label><input type="checkbox" id="gift"> Gift wrap</label> <label><input type="checkbox" id="express"> Express
shipping</label> <label><input type="checkbox" id="news"> Newsletter</label><br><br>
<button onclick="document.getElementById('more').classList.toggle('hidden')">Show details</button>
<button id="save">Save</button> <button>Cancel</button>
<div id="more" class="hidden"><p>Details: shipping to Berlin, Germany. Estimated delivery in 3 to 5 working days.</p></div>
<table><tr><th>Order</th><th>Customer</th><th>Date</th><th>Total</th><th>Status</th></tr>
<tr><td>10231</td><td>Anna Schmidt</td><td>2024-03-02</td><td>129.90</td><td>Shipped</td></tr>
<tr><td>10232</td><td>Lukas Meyer</td><td>2024-03-02</td><td>18.50</td><td>Open</td></tr>
<tr><td>10233</td><td>Maria Rossi</td><td>2024-03-03</td><td>342.00</td><td>Paid</td></tr>
<tr><td>10234</td><td>John Smith</td><td>2024-03-04</td><td>77.25</td><td>Open</td></tr>
<tr><td>10235</td><td>Chen Wei</td><td>2024-03-05</td><td>9.99</td><td>Cancelled</td></tr>
<tr><td>10236</td><td>Fatima Khan</td><td>2024-03-05</td><td>210.00</td><td>Shipped</td></tr></table>
<p>Showing 6 of 214 orders. Use the filters on the left to narrow the list, or export the table as CSV from the
Reports page.</p></main>
<script>document.getElementById('save').onclick = () => { const v = id => document.getElementById(id);
  document.title = `saved ${v('name').value} ${v('email').value} gift=${v('gift').checked} ` +
                   `express=${v('express').checked} news=${v('news').checked}`; };</script></body></html>"""
TASK = ("type Alice Example into the Customer name field, type alice@example.com into the Email address field, "
        "check Gift wrap and Express shipping, click Show details and click Save")
WANT = "saved Alice Example alice@example.com gift=true express=true news=false"
STEP_PARTS = ("capture_ms", "ground_ms", "decide_ms", "act_ms")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--runs", type=int, default=3, help="form fills (the step-time scenario), each on a freshly "
                   "loaded page; 0: none")
    p.add_argument("--scenarios", default="dev", help="everyday-application scenarios to run once each "
                   "(tools/bench/desk_scenarios.py): dev | heldout | heldout2 | all | none | names, comma-separated")
    p.add_argument("--agent", choices=("instruction", "nothing"), default="instruction",
                   help="nothing: a do-nothing agent, which every scenario must fail")
    p.add_argument("--fallback", default="0.5b",
                   help="the LLM the instruction policy hands over to when it cannot parse or ground the task, as "
                        "`omnirt agent --fallback` (0.5b, 1.5b or a URL; 'none': rules only)")
    p.add_argument("--out", default="bench-results/desk", help="folder for desk.json, report.html and the runs")


def _title(display: Any) -> str:
    from omnirt.agents.display import window_names

    return next((n for n in window_names(display.name) if n.startswith("saved ")), "")


def one_run(agent: Any, display: Any, grab: Any, page: Path, run_dir: Path) -> dict[str, Any]:
    from omnirt.agents.display import Browser, page_url, wait_for_pixels

    browser = Browser(display, page_url(page)).start()
    try:
        wait_for_pixels(grab, lambda im: im[400:700:20, 300:1200:20].mean() > 200, 15.0)  # painted
        time.sleep(1.0)  # Chromium ignores input for a moment after its first paint
        agent.config.record = run_dir
        result = agent.run(TASK)
        deadline = time.monotonic() + 3
        while not (title := _title(display)) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        browser.stop()
    steps = [s for s in result.steps if s.action.get("action") != "done"]
    timings = [s.timings.as_dict() for s in steps]
    step_ms = [round(sum(t.get(k, 0.0) for k in STEP_PARTS), 1) for t in timings]
    return {"ok": title == WANT, "title": title, "status": result.status, "steps": len(steps), "step_ms": step_ms,
            "parts": {k: [t.get(k) for t in timings] for k in (*STEP_PARTS, "verify_ms")}, "run": str(run_dir)}


def run(args: argparse.Namespace, console: Any) -> int:
    from omnirt.agents.display import VirtualDisplay
    from omnirt.agents.screen import Screen, ScreenOptions
    from omnirt.agents.agent import Agent, AgentConfig
    from omnirt.tools.bench.report import cpu_probe, percentiles

    from omnirt.tools.bench.desk_run import run_scenarios, success_line
    from omnirt.tools.bench.desk_scenarios import scenarios

    if args.runs < 0:
        raise SystemExit(f"--runs must be 0 or more, got {args.runs}")
    try:
        chosen = () if args.scenarios == "none" else scenarios(args.scenarios)
    except ValueError as e:
        raise SystemExit(str(e)) from None
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    page = out / "desk.html"
    page.write_text(PAGE)
    probe = cpu_probe()
    display = VirtualDisplay(1280, 800).start()
    runs: list[dict[str, Any]] = []
    scenario_results: list[dict[str, Any]] = []
    screen = None
    try:
        screen = Screen(ScreenOptions(display=display.name))
        fallback = None if args.fallback.lower() == "none" else args.fallback
        agent = Agent(AgentConfig(display=display.name, max_steps=20, max_seconds=120, fallback=fallback))
        if args.agent == "instruction":
            agent.load()
        for i in range(args.runs if args.agent == "instruction" else 0):
            r = one_run(agent, display, lambda: screen.capture().rgb, page, out / f"run{i}")
            runs.append(r)
            console.print(f"run {i}: {'ok' if r['ok'] else 'FAILED'} ({r['status']}), {r['steps']} steps, step ms "
                          f"{r['step_ms']}", soft_wrap=True, highlight=False)
        scenario_results = run_scenarios(chosen, agent if args.agent == "instruction" else None, display,
                                         out / "scenarios", console)
    finally:
        if screen is not None:
            screen.close()
        display.stop()
    first = [r["step_ms"][0] for r in runs if r["step_ms"]]
    later = [ms for r in runs for ms in r["step_ms"][1:]]
    every = [ms for r in runs for ms in r["step_ms"]]
    parts = {k: percentiles([v for r in runs for v in r["parts"][k] if v is not None])
             for k in (*STEP_PARTS, "verify_ms")}
    summary = {"bench": "desk", "screen": "1280x800", "task": TASK, "runs": runs,
               "success": f"{sum(r['ok'] for r in runs)}/{len(runs)}", "step_ms": percentiles(every),
               "first_step_ms": percentiles(first), "later_steps_ms": percentiles(later), "parts": parts,
               "cpu_probe_ms": round(probe, 1), "agent": args.agent, "fallback": args.fallback,
               "scenarios": scenario_results,
               "scenario_success": success_line(scenario_results)}
    (out / "desk.json").write_text(json.dumps(summary, indent=1))
    _report(out / "report.html", summary)
    console.print(f"cpu probe {probe:.0f} ms (lower = a quieter host)", highlight=False)
    if scenario_results:
        console.print(f"scenarios ({args.agent} agent): {summary['scenario_success']}", highlight=False)
    if not runs:
        console.print(f"wrote {out / 'desk.json'} and {out / 'report.html'}")
        return 0 if all(r["ok"] for r in scenario_results) else 1
    console.print(f"1280x800 desk: success {summary['success']}; agent step (screenshot -> action) median "
                  f"{summary['step_ms']['p50']} ms p95 {summary['step_ms']['p95']} ms over {len(every)} steps; "
                  f"first step of a run {statistics.median(first) if first else float('nan'):.0f} ms, later steps "
                  f"median {summary['later_steps_ms']['p50']} ms", soft_wrap=True, highlight=False)
    console.print("  " + ", ".join(f"{k[:-3]} p50 {v['p50']} ms" for k, v in parts.items()), highlight=False)
    console.print(f"wrote {out / 'desk.json'} and {out / 'report.html'}")
    return 0 if all(r["ok"] for r in runs + scenario_results) else 1


def _report(path: Path, s: dict[str, Any]) -> None:
    import html

    from omnirt.tools.bench.desk_run import report_rows

    rows = "".join(f"<tr><td><a href='run{i}/report.html'>run {i}</a></td><td>{'ok' if r['ok'] else 'FAILED'}</td>"
                   f"<td>{r['steps']}</td><td>{html.escape(str(r['step_ms']))}</td></tr>" for i, r in enumerate(s["runs"]))
    parts = "".join(f"<tr><td>{k}</td><td>{v['p50']}</td><td>{v['p95']}</td></tr>" for k, v in s["parts"].items())
    path.write_text(f"<!doctype html><meta charset=utf-8><title>desk bench</title><h1>Agent on a 1280x800 screen</h1>"
                    f"<p>{html.escape(s['task'])}</p><p>success {s['success']}; step median {s['step_ms']['p50']} ms, "
                    f"first step {s['first_step_ms']['p50']} ms, later steps {s['later_steps_ms']['p50']} ms</p>"
                    f"<table border=1><tr><th>run</th><th>result</th><th>steps</th><th>step ms</th></tr>{rows}</table>"
                    f"<h2>parts</h2><table border=1><tr><th>part</th><th>p50 ms</th><th>p95 ms</th></tr>{parts}</table>"
                    + (report_rows(s["scenarios"]) if s["scenarios"] else "")
                    + f"<p>cpu probe {s['cpu_probe_ms']} ms</p>")
