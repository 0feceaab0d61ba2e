"""omnirt.agents: a computer-use agent that sees only screenshots and acts only with the real mouse and keyboard.

agent (a task on a display, recorded), loop (one episode, an AgentStep per step), screen (observe: capture,
pixel<->pointer mapping, tile change detection), actions (typed schema), safety (deny by default), executor (pyautogui
behind the safety layer), trajectory (record, report, replay), display (Xvfb + Chromium), devtools (the one Chrome
DevTools Protocol client), miniwob_env / miniwob_episode (MiniWoB++).
"""

from omnirt.agents.actions import Action, InvalidAction, action_json_schema, parse_action
from omnirt.agents.executor import Executor, Outcome, PyAutoGUIBackend
from omnirt.agents.safety import Decision, SafetyPolicy, Verdict
from omnirt.agents.screen import Screenshot, Monitor, Screen, ScreenOptions, TileDiff, expect_change, tile_diff
from omnirt.agents.trajectory import Recorder, Trajectory, build_report, load, replay, run_step

__all__ = ["Action", "InvalidAction", "action_json_schema", "parse_action", "Executor", "Outcome", "PyAutoGUIBackend",
           "Decision", "SafetyPolicy", "Verdict", "Screenshot", "Monitor", "Screen", "ScreenOptions", "TileDiff",
           "expect_change", "tile_diff", "Recorder", "Trajectory", "build_report", "load", "replay", "run_step"]
