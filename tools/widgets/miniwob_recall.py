"""How much of what MiniWoB++ task screens show the widget detector finds: precision and recall per kind against the
page's DOM, on the screens the agent sees (device scale 2, the task area; the detector reads them shrunk to scale 1
as agents/grounding.py does).

    python -m omnirt.tools.widgets.miniwob_recall --tasks a,b [--seeds 3] [--json OUT]

Why: the detector was trained on synthetic pages (tools/widgets/synth.py), not on MiniWoB's; this says what it
misses on real task screens before the agent relies on it. The DOM's widgets are read as the training renderer
reads them (tools/widgets/render.py COLLECT), plus what MiniWoB draws as icons without any semantics: small
text-less elements with a pointer cursor or a picture as content (a trash can, a star, a close cross).
Held-out tasks are refused: they are for measuring the agent only.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from omnirt.tools.bench.miniwob_suites import HELDOUT
from omnirt.tools.widgets.evaluate import Tally, score_screen
from omnirt.tools.widgets.render import COLLECT, Widget

# Small text-less clickable things the DOM gives no role: MiniWoB's icons (CSS content/background pictures, glyphs
# with a pointer cursor). Same output rows as COLLECT.
ICONS = r"""(() => {
const out = [];
for (const e of document.querySelectorAll('#area span, #area i, #area div, #area img')) {
  if (e.closest('input,textarea,select,button,a[href],[role]')) continue;
  const r = e.getBoundingClientRect();
  if (r.width < 4 || r.height < 4 || Math.max(r.width, r.height) > 32) continue;
  const s = getComputedStyle(e);
  const pic = (s.content && s.content.startsWith('url')) || (s.backgroundImage && s.backgroundImage !== 'none');
  const text = (e.textContent || '').trim();
  if (!(pic || (s.cursor === 'pointer' && text.length <= 1))) continue;
  if (e.querySelector('span,i,div,img')) continue;
  out.push(['icon', r.left, r.top, r.right, r.bottom, true]);
}
return JSON.stringify(out);
})()"""


def screen_widgets(env) -> list[Widget]:
    """The DOM's widgets of the open episode, in CSS px of the page."""
    rows = json.loads(env.devtools.eval(COLLECT)) + json.loads(env.devtools.eval(ICONS))
    return [Widget(k, (x0, y0, x1, y1), bool(ok)) for k, x0, y0, x1, y1, ok in rows]


def measure(tasks: list[str], seeds: int, log=print) -> dict:
    """Tally the detector over `seeds` episodes of each task; per task and overall."""
    from omnirt.agents.grounding import Grounder, GroundingOptions
    from omnirt.agents.miniwob_env import MiniWoBEnv
    from omnirt.agents.miniwob_episode import start_episode
    from omnirt.agents.screen import Screen, ScreenOptions
    from omnirt.models.widgets import Detection

    env = MiniWoBEnv()
    screen = Screen(ScreenOptions(display=env.display.name))
    s = env.options.scale
    grounder = Grounder(GroundingOptions(scale=s))
    total, per_task = Tally(), {}
    try:
        for task in tasks:
            env.open(task)
            t = Tally()
            for seed in range(seeds):
                start_episode(env, screen, seed)
                frame = screen.capture(region=env.page_box)
                top = env.query_box[3]
                dets = grounder.detect(frame.rgb[top:])
                css = [Detection((d.box[0] / s, (d.box[1] + top) / s, d.box[2] / s, (d.box[3] + top) / s), d.kind,
                                 d.score) for d in dets]
                area = [w for w in screen_widgets(env) if w.box[1] >= top / s - 1]
                t.add(score_screen(css, area))
            per_task[task] = t.report()["overall"]
            total.add(t)
            log(f"{task:24s} {json.dumps(per_task[task])}")
    finally:
        screen.close()
        env.close()
    return {"tasks": per_task, **total.report()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", required=True, help="comma-separated MiniWoB tasks (no held-out ones)")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--json", default=None, help="write the report here")
    a = p.parse_args(argv)
    tasks = [t.strip() for t in a.tasks.split(",") if t.strip()]
    held = [t for t in tasks if t in HELDOUT]
    if held:
        print(f"omnirt: error: held-out tasks are for measuring the agent only: {', '.join(held)}", file=sys.stderr)
        return 2
    report = measure(tasks, a.seeds)
    print(json.dumps({k: v for k, v in report.items() if k != "tasks"}, indent=1))
    if a.json:
        Path(a.json).write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
