"""The system prompt's KV snapshot kept on disk (models/llama_states.py): a file is trusted only whole, old files
go, and a second start of the real Thinker reads the snapshot back instead of evaluating the prompt, then answers
with the same words as a start that evaluated it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from omnirt.models import llama_states
from omnirt.models.llama_states import load_snapshot, snapshot_path, write_snapshot


def test_a_snapshot_reads_back_as_written_and_a_damaged_one_is_removed(tmp_path, monkeypatch):
    monkeypatch.setenv("OMNIRT_STATE_DIR", str(tmp_path))
    path = snapshot_path({"model": "m", "n_ctx": 2048}, [1, 2, 3])
    assert path.parent == tmp_path and path != snapshot_path({"model": "m", "n_ctx": 4096}, [1, 2, 3])
    assert path != snapshot_path({"model": "m", "n_ctx": 2048}, [1, 2, 4])
    assert load_snapshot(path) is None  # absent
    write_snapshot(path, (1, 2, 3, 9), b"kv" * 1000)
    assert load_snapshot(path) == ((1, 2, 3, 9), b"kv" * 1000)
    raw = path.read_bytes()
    for damaged in (raw[:-1] + b"X", raw[:len(raw) // 2], b"something else"):
        path.write_bytes(damaged)
        assert load_snapshot(path) is None and not path.exists()


def test_only_the_most_recent_files_are_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("OMNIRT_STATE_DIR", str(tmp_path))
    monkeypatch.setattr(llama_states, "KEEP_FILES", 3)
    paths = [snapshot_path({"model": "m"}, [i]) for i in range(5)]
    for i, p in enumerate(paths):
        write_snapshot(p, (i,), b"x")
        os.utime(p, (1000 + i, 1000 + i))
    write_snapshot(paths[0], (0,), b"y")  # written again: the newest
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in (paths[0], paths[3], paths[4]))


def test_an_empty_state_dir_turns_them_off(monkeypatch):
    monkeypatch.setenv("OMNIRT_STATE_DIR", "")
    assert snapshot_path({"model": "m"}, [1]) is None


START = """
import json
from omnirt.models.llama import LlamaChat
chat = LlamaChat.load()
chat.warmup()
answer = chat.complete([{"role": "user", "content": "Name a colour of the sky."}])
print(json.dumps({"disk": chat.warmed_from_disk, "restored": chat._guard.states.restored, "answer": answer}))
"""


@pytest.mark.models
def test_a_second_start_reads_the_prompt_back_and_answers_the_same(tmp_path):
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (make setup)")
    env = dict(os.environ, OMNIRT_STATE_DIR=str(tmp_path))
    runs = []
    for _ in range(2):
        proc = subprocess.run([sys.executable, "-c", START], capture_output=True, text=True, env=env, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    first, second = runs
    assert not first["disk"] and first["restored"] == 0 and len(list(tmp_path.glob("*.state"))) == 1
    assert second["disk"] and second["restored"] == 1  # its first prompt put the snapshot back
    assert second["answer"] == first["answer"] and first["answer"]


POLICY_START = """
import json
from omnirt.agents.llm_backends import EmbeddedThinker
from omnirt.agents.llm_policy import LLMPolicy
from omnirt.agents.elements import Element
thinker = EmbeddedThinker(n_threads=1)
policy = LLMPolicy(thinker)
policy.warmup()
els = [Element("e1", (10, 100, 80, 130), "button", "Cancel"), Element("e2", (90, 100, 170, 130), "button", "Submit")]
action = policy.decide("Click the Submit button.", els, [])
print(json.dumps({"disk": thinker.chat.warmed_from_disk, "restored": thinker.chat._guard.states.restored,
                  "action": repr(action), "answer": policy.log[-1]["answer"]}))
"""


@pytest.mark.models
def test_the_agents_llm_policy_reads_its_head_back_and_decides_the_same(tmp_path):
    """The LLM policy's warmup (its system prompt and examples) goes through the same disk snapshot, and its
    grammar-constrained decisions (LlamaChat.run) put the snapshot back before reading the prompt."""
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (make setup)")
    env = dict(os.environ, OMNIRT_STATE_DIR=str(tmp_path))
    runs = []
    for _ in range(2):
        proc = subprocess.run([sys.executable, "-c", POLICY_START], capture_output=True, text=True, env=env,
                              timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    first, second = runs
    assert not first["disk"] and second["disk"] and second["restored"] >= 1
    assert second["answer"] == first["answer"] and "Click" in first["action"]
