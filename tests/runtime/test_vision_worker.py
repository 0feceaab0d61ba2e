"""The vision worker process `omnirt serve` describes the camera with: its priority, a crash, a hang, a pause, a
model that cannot load, and ending with its parent (models/worker.py), and the two workers of a real `omnirt serve`
(tests/runtime/test_vision.py has the stage that samples the camera and the real read of a card)."""

import logging
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest


class MeanDescriber:
    """For the worker process (importable there: the worker gets the parent's sys.path)."""

    def describe(self, image):
        if image.mean() == 13:
            os._exit(3)  # a crash in native code, as far as the parent can tell
        if image.mean() == 14:
            raise ValueError("cannot read this\nsecond line")
        if image.mean() == 15:
            time.sleep(60)  # hung: asleep, not waiting for a CPU
        return f"mean {int(image.mean())} pid {os.getpid()}"


class BrokenModel:
    def __init__(self):
        raise FileNotFoundError("no model here")


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_gone(pid, timeout=5.0):
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pid)


def test_worker_runs_at_the_lowest_priority_and_survives_its_crash(caplog):
    from omnirt.models.worker import VisionUnavailable, WorkerDescriber

    d = WorkerDescriber(MeanDescriber)
    try:
        text = d.describe(np.full((480, 640, 3), 100, np.uint8))
        assert text == f"mean 100 pid {d.pid}" and d.pid != os.getpid()
        tids = os.listdir(f"/proc/{d.pid}/task")
        assert tids and all(os.sched_getscheduler(int(t)) == os.SCHED_IDLE for t in tids)
        with pytest.raises(VisionUnavailable, match="ValueError: cannot read this$"):
            d.describe(np.full((8, 8, 3), 14, np.uint8))  # the describer raised: one line, same worker
        first = d.pid
        with caplog.at_level(logging.WARNING, "omnirt.vision"):
            with pytest.raises(VisionUnavailable, match="exited with code 3"):
                d.describe(np.full((8, 8, 3), 13, np.uint8))
        assert [r.getMessage().count("\n") for r in caplog.records] == [0]
        assert wait_gone(first)
        assert d.describe(np.full((8, 8, 3), 50, np.uint8)).startswith("mean 50")  # a new worker
        assert d.restarts == 1
        os.kill(d.pid, signal.SIGKILL)
        with pytest.raises(VisionUnavailable, match="killed by signal 9|Broken pipe"):
            d.describe(np.full((8, 8, 3), 60, np.uint8))
        for _ in range(2):  # three failures in a row: vision is off for good, in one line
            with pytest.raises(VisionUnavailable):
                d.describe(np.full((8, 8, 3), 13, np.uint8))
        assert d.disabled and "3 times in a row" in d.disabled and d.pid is None
        with pytest.raises(VisionUnavailable, match="vision is off"):
            d.describe(np.full((8, 8, 3), 50, np.uint8))
    finally:
        d.close()


def test_a_paused_worker_is_stopped_and_its_answer_waits():
    from omnirt.models.worker import WorkerDescriber

    d = WorkerDescriber(MeanDescriber, timeout_s=0.5)
    try:
        d.describe(np.zeros((8, 8, 3), np.uint8))
        d.pause()
        d.pause()  # two sessions answering turns
        state = lambda: open(f"/proc/{d.pid}/stat").read().rsplit(")", 1)[1].split()[0]  # noqa: E731
        time.sleep(0.1)
        assert state() == "T"
        asked = time.monotonic()
        threading.Timer(0.8, d.resume).start()
        threading.Timer(1.2, d.resume).start()
        assert d.describe(np.full((8, 8, 3), 70, np.uint8)).startswith("mean 70")  # paused is not hung
        assert time.monotonic() - asked > 1.1 and d.restarts == 0
    finally:
        d.close()


def test_a_hung_worker_is_killed_and_replaced():
    from omnirt.models.worker import VisionUnavailable, WorkerDescriber

    d = WorkerDescriber(MeanDescriber)
    try:
        d.describe(np.zeros((8, 8, 3), np.uint8))  # started (its imports may read the disk for a while)
        d.timeout_s, hung = 1.0, d.pid
        with pytest.raises(VisionUnavailable, match=r"hung \(no answer in 1 s\)"):
            d.describe(np.full((8, 8, 3), 15, np.uint8))
        assert wait_gone(hung)
        d.timeout_s = 60.0
        assert d.describe(np.full((8, 8, 3), 50, np.uint8)).startswith("mean 50")
    finally:
        d.close()


def test_a_worker_that_cannot_load_its_model_turns_vision_off_at_once():
    from omnirt.models.worker import VisionUnavailable, WorkerDescriber

    d = WorkerDescriber(BrokenModel)
    with pytest.raises(VisionUnavailable, match="could not load its model .FileNotFoundError: no model here"):
        d.describe(np.zeros((8, 8, 3), np.uint8))
    assert d.disabled and d.pid is None and d.restarts == 0


@pytest.mark.parametrize("how", ["exits", "is killed"])
def test_the_worker_ends_with_its_parent(how, tmp_path):
    script = (f"import functools, os, signal, sys, numpy as np\n"
              f"from omnirt.models.worker import WorkerDescriber\n"
              f"from test_vision_worker import MeanDescriber\n"
              f"d = WorkerDescriber(MeanDescriber)\n"
              f"d.describe(np.zeros((8, 8, 3), np.uint8))\n"
              f"print(d.pid, flush=True)\n"
              f"{'os.kill(os.getpid(), signal.SIGKILL)' if how == 'is killed' else 'sys.exit(0)'}\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    worker = int(out.stdout.split()[0])
    assert wait_gone(worker), f"the worker outlived its parent ({how})"


def children(pid):
    out = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            out += [int(c) for c in f.read().split()]
    return out


@pytest.mark.models
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGKILL])
def test_omnirt_serve_reads_the_camera_in_an_idle_worker_that_ends_with_it(stop):
    """(and keeps a second worker, at normal priority, for turns that wait on the camera)"""
    server = subprocess.Popen([sys.executable, "-m", "omnirt.tools.cli", "serve", "--port", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for line in server.stdout:
            if line.startswith("ready: open "):
                break
        workers = children(server.pid)
        assert len(workers) == 2, workers  # the background reader, and the one a turn that asks may wait for
        deadline = time.monotonic() + 5  # (its interpreter may still be starting)
        idle = lambda: [os.sched_getscheduler(w) == os.SCHED_IDLE for w in workers]  # noqa: E731
        while sum(idle()) != 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sorted(idle()) == [False, True]
        server.send_signal(stop)
        server.wait(20)
        assert all(wait_gone(w) for w in workers), "a vision worker outlived the server"
    finally:
        server.kill()
        server.wait()
