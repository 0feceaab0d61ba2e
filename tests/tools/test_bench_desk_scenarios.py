"""`omnirt bench desk`'s everyday scenarios (tools/bench/desk_scenarios.py): each screen judges its own result in
its window title, an untouched screen fails (the do-nothing agent scores 0), and the agent carries seven of them out
on a real 1280x800 Xvfb screen in real Chromium."""

from __future__ import annotations

import json
import re
import time

import pytest

from choice_page import omnirt
from omnirt.tools.bench.desk_heldout import HELDOUT
from omnirt.tools.bench.desk_scenarios import DEV, next_month_day, scenarios
from omnirt.tools.bench.desk_tk import verdict

pytestmark = pytest.mark.needs("Xvfb", "chromium", "xdotool")


def test_the_groups_hold_ten_scenarios_or_more_with_a_native_window_and_four_held_out():
    assert len(DEV + HELDOUT) >= 10 and len(HELDOUT) >= 4 and any(s.tk for s in DEV + HELDOUT)
    from omnirt.tools.bench.desk_heldout2 import HELDOUT2

    assert len({s.name for s in DEV + HELDOUT + HELDOUT2}) == len(DEV + HELDOUT + HELDOUT2)
    assert scenarios("settings-switch,archive-row") == (DEV[0], HELDOUT[-1])
    with pytest.raises(ValueError, match="unknown desk scenario 'nope'"):
        scenarios("nope")
    assert next_month_day(9, __import__("datetime").date(2026, 12, 31)) == "2027-01-09"


def test_no_scenario_is_named_or_quoted_in_the_agent():
    """The agent knows English and widget conventions, not these screens: no scenario's name, instruction or the
    values it asks for appear in agents/."""
    from pathlib import Path

    import omnirt.agents

    code = "\n".join(p.read_text() for p in Path(omnirt.agents.__file__).parent.glob("*.py")).lower()
    from omnirt.tools.bench.desk_heldout2 import HELDOUT2

    for sc in DEV + HELDOUT + HELDOUT2:
        words = [sc.name, sc.instruction] + [str(v) for v in sc.want.get("fields", {}).values() if len(str(v)) > 5]
        # as words, not inside others: "capturing" does not quote the value "turing"
        assert not [w for w in words if re.search(rf"(?<!\w){re.escape(w.lower())}(?!\w)", code)], sc.name


def test_the_native_windows_verdict_wants_the_fields_and_nothing_else():
    want = {"fields": {"user": "turing", "remember": True}, "actions": ["apply"]}
    start = {"user": "", "remember": "false", "beta": "false"}
    assert verdict({"user": "Turing ", "remember": "true", "beta": "false"}, start, want, ["apply"]) == "pass"
    assert verdict({"user": "turing", "remember": "true", "beta": "true"}, start, want, ["apply"]).startswith("fail")
    assert verdict({"user": "turing", "remember": "true", "beta": "false"}, start, want, []) == "fail: actions []"


# Appended to a scenario's script: its title then tells where elements are on the screen (their centres, in screen
# pixels), so the test clicks them where this machine's fonts put them. (`verdict` is a hoisted function: this
# assignment replaces it.)
WHERE_JS = """verdict = () => 'at ' + JSON.stringify(Object.fromEntries(['emailalerts', 'push', 'save'].map(id => {
  const r = document.getElementById(id).getBoundingClientRect();
  return [id, [Math.round(screenX + r.left + r.width / 2),
               Math.round(screenY + outerHeight - innerHeight + r.top + r.height / 2)]]; })));"""


def test_a_page_judges_its_own_result_including_nothing_else_changed(tmp_path):
    """The settings page, driven by plain pointer clicks at its switch and Save: pass; one more switch: fail."""
    import dataclasses

    from omnirt.agents.display import Desk
    from omnirt.tools.bench.desk_run import _Window, verdict as page_verdict

    sc = scenarios("settings-switch")[0]
    with Desk(1280, 800) as desk:
        def shown(scenario, ready, clicks=()):
            window = _Window(scenario, desk.display, tmp_path)
            try:
                deadline = time.monotonic() + 20
                while not ready(page_verdict(desk.display.name)) and time.monotonic() < deadline:
                    time.sleep(0.1)
                time.sleep(1.0)
                for x, y in clicks:
                    desk.backend.pg.click(x, y)
                    time.sleep(0.2)
                time.sleep(0.4)
                return page_verdict(desk.display.name)
            finally:
                window.stop()

        where = shown(dataclasses.replace(sc, script=sc.script + WHERE_JS), lambda v: v.startswith("at "))
        at = json.loads(where[len("at "):])
        switch, other, save = (tuple(at[k]) for k in ("emailalerts", "push", "save"))
        run = lambda clicks: shown(sc, lambda v: v.startswith("fail"), clicks)  # noqa: E731
        assert run([]).startswith("fail")
        assert run([switch, save]) == "pass"
        assert run([switch, other, save]) == "fail: push=true"


# What a user would do on each second held-out screen, done by the page's own script once the test clicks a blank
# spot (so the untouched verdict is read first); then two mistakes the verdict must catch.
ORACLES = {
    "connections-apply": "bt.click(); airplane.click(); apply.click();",
    "shipping-beside": "shipname.value = 'Mara Jones'; street.value = '4 Elm Street'; town.value = 'Leeds'; "
                       "postcode.value = 'LS2 9JT'; speed.value = 'nextday'; place.click();",
    "contact-delete": "document.querySelector(\"tr[data-who='Jonas Berg'] .rm\").click(); yes.click();",
    "view-zoom": "view.click(); zoom.click(); [...zm.children].find(d => d.textContent === '150%').click();",
    "due-date-icon": "pick.click(); fwd.click(); grid.querySelector('td[data-d=\"3\"]').click(); save.click();",
    "flight-suggest": "dest.value = 'barc'; dest.dispatchEvent(new Event('input')); sug.firstChild.click(); "
                      "go.click();",
    "newsletter-below": "monthly.click(); keep.click();",
    "signin-dialog": "login.click(); uname.value = 'ada_l'; pw.value = 'Engine1843'; signin.click();",
}
MISTAKES = {
    "contact-delete": ("document.querySelector(\"tr[data-who='Jonas Bergman'] .rm\").click(); yes.click();",
                       "fail: actions [delete Jonas Bergman]"),
    "flight-suggest": ("dest.value = 'Ba'; go.click();", "fail: dest=ba"),
}


def test_each_second_held_out_screen_fails_untouched_and_passes_when_done_as_asked(tmp_path):
    """tools/bench/desk_heldout2.py: every page shows 'fail' before anything is done, 'pass' once its script does
    what the instruction asks (fields, then the button), and a wrong row or an unresolved city fails."""
    import dataclasses

    from omnirt.agents.display import Desk
    from omnirt.tools.bench.desk_heldout2 import HELDOUT2
    from omnirt.tools.bench.desk_run import _Window, verdict as page_verdict

    assert set(ORACLES) == {s.name for s in HELDOUT2} and scenarios("heldout2") == HELDOUT2
    runs = [(sc, ORACLES[sc.name], "pass") for sc in HELDOUT2]
    runs += [(sc, *MISTAKES[sc.name]) for sc in HELDOUT2 if sc.name in MISTAKES]
    with Desk(1280, 800) as desk:
        for sc, steps, want in runs:
            trigger = (f"window.addEventListener('mousedown', () => setTimeout(() => {{ {steps} }}, 50), "
                       "{once: true});")
            window = _Window(dataclasses.replace(sc, script=sc.script + "\n" + trigger), desk.display, tmp_path)
            try:
                first, deadline = "", time.monotonic() + 20
                while not first.startswith(("pass", "fail")) and time.monotonic() < deadline:
                    time.sleep(0.1)
                    first = page_verdict(desk.display.name)
                assert first.startswith("fail"), (sc.name, first)
                time.sleep(1.0)  # (Chromium ignores input for a moment after its first paint)
                desk.backend.pg.click(1270, 790)
                seen, deadline = first, time.monotonic() + 5
                while seen != want and time.monotonic() < deadline:
                    time.sleep(0.1)
                    seen = page_verdict(desk.display.name)
                assert seen == want, (sc.name, seen)
            finally:
                window.stop()


def test_the_bench_runs_the_agent_users_get_with_its_llm_fallback():
    """`omnirt bench desk` measured the rules alone while `omnirt agent` hands over to the 0.5B when they cannot
    parse or ground a task: the bench's default is now the command's."""
    import argparse

    from omnirt.tools import agent_cmd
    from omnirt.tools.bench import desk

    bench, command = argparse.ArgumentParser(), argparse.ArgumentParser()
    desk.add_arguments(bench)
    agent_cmd.add_arguments(command)
    assert bench.parse_args([]).fallback == command.parse_args(["click OK"]).fallback == "0.5b"


def test_the_do_nothing_agent_scores_zero(tmp_path):
    r = omnirt(":0", "bench", "desk", "--runs", "0", "--agent", "nothing", "--scenarios",
               "settings-switch,table-row-delete,tk-preferences", "--out", str(tmp_path))
    summary = json.loads((tmp_path / "desk.json").read_text())
    assert r.returncode == 1 and summary["scenario_success"] == "dev 0/3", r.stdout + r.stderr
    assert all(s["verdict"].startswith("fail") for s in summary["scenarios"])


@pytest.mark.models
def test_the_agent_carries_out_seven_everyday_scenarios(tmp_path):
    """One run of the command (one start of its models): a switch and a row behind a confirmation, and those that
    need tools/test_desk_grounding.py's grounding: the menu path, the button below the fold (looked for before a word
    of like meaning is taken), a date inside a sentence, a sign-up with a split name and a repeated password, and a
    row action behind the row's menu and a confirmation."""
    pytest.importorskip("rapidocr")
    names = ("settings-switch,table-row-delete,menu-submenu,below-fold-terms,meeting-date-sentence,"
             "signup-split-name,row-more-menu")
    r = omnirt(":0", "bench", "desk", "--runs", "0", "--scenarios", names, "--out", str(tmp_path))
    summary = json.loads((tmp_path / "desk.json").read_text())
    assert summary["scenario_success"] == "dev 7/7", r.stdout + r.stderr
    assert "scenario settings-switch (dev): ok" in r.stdout
