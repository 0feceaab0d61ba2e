"""`omnirt bench answers`: does the Thinker answer right, from the question's words alone?

`omnirt bench reply` hears each question and hears each answer back, so a wrong answer there may be the recogniser's
fault or the Thinker's. This asks the embedded Thinker each question of a set as text, as a voice session would (its
system prompt, a fresh conversation), and checks the answer for an accepted word: seconds per question instead of a
spoken turn, so a system prompt can be tried on PROMPT_DEV many times and then measured once on HELD_OUT_2.
`--system-prompt FILE` tries another prompt without editing the code.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from .report import cpu_probe


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..questions import QUESTION_SETS
    from ..voice import DEFAULT

    p.add_argument("--set", default="prompt-dev", choices=sorted(QUESTION_SETS), dest="question_set",
                   help="the question set of tools/questions.py")
    p.add_argument("--thinker", default=DEFAULT.thinker, help="1.5b (default) or 0.5b, or a model asset name")
    p.add_argument("--system-prompt", type=Path, help="a file holding the system prompt to try instead")
    p.add_argument("--json", default="bench-results/answers.json", help="where the results go")


def right(answer: str, accept: tuple[str, ...], question: str = "") -> bool:
    """Does the answer contain one of the accepted words (case aside), more often than the question does? An answer
    that only repeats the question ("Leaves fall from the trees in spring." to "In which season do leaves fall?",
    where "fall" is accepted) has not given the word."""
    a, q = answer.lower(), question.lower()
    return any(a.count(w) > q.count(w) for w in accept)


def run(args: argparse.Namespace, console: Any) -> int:
    from ...models import registry
    from ..questions import QUESTION_SETS
    from ..voice import DEFAULT, system_prompt

    options: dict[str, Any] = {"max_tokens": DEFAULT.max_tokens, "n_threads": 2}
    try:
        prompt = system_prompt(args.system_prompt and str(args.system_prompt))
    except ValueError as err:
        console.print(f"[red]{err}[/red]")
        return 2
    options.update(prompt)
    chat = registry.load_thinker(args.thinker, **options)
    probes = [cpu_probe()]
    rows = []
    for q in QUESTION_SETS[args.question_set]:
        t = time.perf_counter()
        answer = chat.complete([{"role": "user", "content": q.text}])
        ok = right(answer, q.accept, q.text)
        rows.append({"question": q.text, "answer": answer, "right": ok, "seconds": round(time.perf_counter() - t, 2)})
        console.print(f"{'[green]right[/green]' if ok else '[red]WRONG[/red]'}  {q.text} -> {answer}")
    probes.append(cpu_probe())
    n_right = sum(r["right"] for r in rows)
    report = {"bench": "answers", "set": args.question_set, "thinker": args.thinker,
              "system_prompt": "file " + str(args.system_prompt) if prompt else "default",
              "right": n_right, "questions": len(rows), "cpu_probe_ms": probes, "rows": rows}
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    console.print(f"machine: CPU probe {probes[0]:.1f} ms before, {probes[1]:.1f} ms after")
    console.print(f"answers ({args.question_set}, Thinker {args.thinker}, system prompt "
                  f"{report['system_prompt']}): {n_right}/{len(rows)} right "
                  f"({100 * n_right / max(1, len(rows)):.0f} %); results in {out}")
    return 0
