"""A describer in a worker process: `omnirt serve` reads the camera this way (models/vision.py says why).

The worker is a plain Python child speaking length-prefixed pickles over its stdin and stdout: the parent sends the
describer's factory once, then one image at a time, and reads back "ready", a text, or a one-line error. A worker
that crashes or hangs is killed and replaced on the next frame; one that cannot load its model turns vision off at
once. The idle worker runs every thread at SCHED_IDLE (nice 19 where that is refused) from before its first import,
and can be stopped where it is (SIGSTOP) while a turn is answered.
"""

from __future__ import annotations

import logging
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import threading
import time
import weakref
from typing import Any, Callable

import numpy as np

log = logging.getLogger("omnirt.vision")


class VisionUnavailable(RuntimeError):
    """No description this time: the worker failed (it is restarted on the next call) or vision is off for good."""


class WorkerDescriber:
    """A describer run in a worker process at the lowest CPU priority (see the module docstring for why).

    factory: builds the real describer inside the worker (picklable: a class, or functools.partial of one).
    timeout_s: a description (model loading included) that takes longer means a hung worker, which is killed;
        time spent waiting for a CPU does not count (at the lowest priority a busy machine may starve it).
    max_failures: after this many failed workers in a row (crashed, hung) vision is off for good; a worker that
        cannot load its model at all turns it off at once. Either way one line is logged and the sessions go on.
    send_side: frames larger than this are subsampled before they cross the pipe (the worker shrinks properly).
    idle: run at the lowest priority (False: at this process's own; see CameraDescriber for when).

    The worker starts at once (its model loads meanwhile, beside the server's) and ends with this object, at
    interpreter exit, or on its own when this process is gone (its stdin closes, or its parent changes)."""

    def __init__(self, factory: Callable[[], Any], timeout_s: float = 60.0, max_failures: int = 3,
                 send_side: int = 1280, idle: bool = True) -> None:
        self.factory, self.timeout_s, self.max_failures, self.send_side = factory, timeout_s, max_failures, send_side
        self.idle = idle
        self._lock = threading.Lock()
        self._pause_lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._ready = False
        self._failures = 0
        self.disabled: str | None = None
        self.described = 0
        self.last_cost_s: float | None = None  # CPU seconds the worker spent on the last description
        self.restarts = -1  # the first start is not a restart
        self._pauses = 0
        self._start()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def describe(self, image: np.ndarray) -> str:
        step = -(-max(image.shape[:2]) // self.send_side)
        image = np.ascontiguousarray(image[::step, ::step]) if step > 1 else image
        with self._lock:
            if self.disabled:
                raise VisionUnavailable(self.disabled)
            try:
                if self._proc is None:
                    self._start()
                deadline = time.monotonic() + self.timeout_s
                if not self._ready:
                    self._reply(deadline)  # "ready", or the reason the model did not load
                    self._ready = True
                _send(self._proc, image, deadline, self._waiting)
                text, self.last_cost_s = self._reply(deadline)
            except _DescribeError as err:  # the describer raised: the worker itself is fine
                raise VisionUnavailable(str(err)) from None
            except _LoadError as err:
                self.disabled = f"vision is off: the worker could not load its model ({err})"
                log.error("%s", self.disabled)
                self.close()
                raise VisionUnavailable(self.disabled) from None
            except (OSError, EOFError, TimeoutError, pickle.UnpicklingError) as err:
                raise self._failed(err) from None
            self._failures = 0
            self.described += 1
            return text

    def pause(self) -> None:
        """Stop the worker where it is (SIGSTOP) until every pause is resumed: a turn is being answered."""
        with self._pause_lock:
            self._pauses += 1
            if self._pauses == 1:
                self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        with self._pause_lock:
            self._pauses = max(0, self._pauses - 1)
            if self._pauses == 0:
                self._signal(signal.SIGCONT)

    def _signal(self, sig: int) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            try:
                os.kill(proc.pid, sig)
            except OSError:
                pass

    def _waiting(self) -> bool:
        """Whether a slow answer is no hang: the worker is paused, or runnable and only waiting for a CPU."""
        proc = self._proc
        return proc is not None and (self._pauses > 0 or _runnable(proc.pid))

    def _failed(self, err: BaseException) -> VisionUnavailable:
        """The worker crashed or hung: end it, say so in one line, and give up after max_failures in a row."""
        if self._closing:
            return VisionUnavailable("vision worker closed")
        code = None
        if self._proc is not None and not isinstance(err, TimeoutError):
            try:
                code = self._proc.wait(0.5)  # a broken pipe comes a moment before the exit status
            except subprocess.TimeoutExpired:
                pass
        what = (f"hung (no answer in {self.timeout_s:g} s)" if isinstance(err, TimeoutError)
                else f"was killed by signal {-code}" if code is not None and code < 0
                else f"exited with code {code}" if code is not None else f"failed ({type(err).__name__}: {err})")
        self.close()
        self._failures += 1
        if self._failures >= self.max_failures:
            self.disabled = f"vision is off: its worker {what}, {self._failures} times in a row"
            log.error("%s", self.disabled)
            return VisionUnavailable(self.disabled)
        log.warning("vision worker %s; a new one starts with the next frame", what)
        return VisionUnavailable(f"vision worker {what}")

    def _start(self) -> None:
        self._closing = False
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))  # it imports what we can
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _WORKER_MAIN, "idle" if self.idle else "normal"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, close_fds=True)
        self._ready = False
        self.restarts += 1
        self._finalizer = weakref.finalize(self, _stop, self._proc)
        if self._pauses:
            self._signal(signal.SIGSTOP)
        _send(self._proc, self.factory, time.monotonic() + self.timeout_s, self._waiting)

    def _reply(self, deadline: float) -> Any:
        kind, value = _recv(self._proc.stdout.fileno(), deadline, self._waiting)  # type: ignore[union-attr]
        if kind == "error":
            raise _DescribeError(value)
        if kind == "failed":
            raise _LoadError(value)
        return value

    def close(self) -> None:
        """End the worker (idempotent; a later describe() starts a new one unless vision is off)."""
        self._closing = True  # a description in progress ends without a warning: we ended its worker
        if self._proc is not None:
            self._finalizer()
            self._proc = None


class _DescribeError(Exception):
    pass


class _LoadError(Exception):
    pass


def _stop(proc: subprocess.Popen) -> None:
    """Close the worker's stdin (it exits after its current frame), and kill it if it has not within a second."""
    if proc.poll() is None:
        try:
            os.kill(proc.pid, signal.SIGCONT)  # paused, it could not notice
        except OSError:
            pass
    for f in (proc.stdin, proc.stdout):
        try:
            f.close()  # type: ignore[union-attr]
        except OSError:
            pass
    try:
        proc.wait(1.0)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# ---------------------------------------------------------------- the wire: length-prefixed pickles

def _send(proc: subprocess.Popen, obj: Any, deadline: float, waiting: Callable[[], bool]) -> None:
    data = pickle.dumps(obj, protocol=5)
    buf = memoryview(struct.pack("<Q", len(data)) + data)
    fd = proc.stdin.fileno()  # type: ignore[union-attr]
    while buf:
        _wait(fd, True, deadline, waiting)
        buf = buf[os.write(fd, buf[: 1 << 16]):]


def _recv(fd: int, deadline: float | None = None, waiting: Callable[[], bool] | None = None) -> Any:
    def exactly(n: int) -> bytes:
        out = bytearray()
        while len(out) < n:
            if deadline is not None:
                _wait(fd, False, deadline, waiting)
            chunk = os.read(fd, n - len(out))
            if not chunk:
                raise EOFError
            out += chunk
        return bytes(out)

    return pickle.loads(exactly(struct.unpack("<Q", exactly(8))[0]))


def _wait(fd: int, write: bool, deadline: float, waiting: Callable[[], bool] | None) -> None:
    """Until fd is ready; TimeoutError past the deadline, unless `waiting()` says the worker is not hung (at the
    lowest priority it may wait for a CPU as long as the voice path keeps the cores busy)."""
    rlist, wlist = ([], [fd]) if write else ([fd], [])
    while not any(select.select(rlist, wlist, [], max(0.0, deadline - time.monotonic()))[:2]):
        if waiting is None or not waiting():
            raise TimeoutError
        deadline = time.monotonic() + 1.0


def _runnable(pid: int) -> bool:
    """Whether any thread of the process is running or waiting for a CPU (state R)."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return False
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "R":
                    return True
        except OSError:
            pass
    return False


# ---------------------------------------------------------------- the worker

# Lowest priority before anything is imported, so even the worker's start-up (numpy, onnxruntime, the model: about a
# second of CPU) takes nothing from a turn in progress when a crashed worker is replaced mid-session.
_WORKER_MAIN = """import os, sys
if sys.argv[1] == "idle":
    os.nice(19)
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (OSError, AttributeError):
        pass
from omnirt.models.worker import serve_worker
serve_worker(sys.argv[1] == "idle")
"""

def lowest_priority() -> str:
    """Put every thread of this process (and so every thread it starts later) on SCHED_IDLE, or at nice 19 where
    that policy is refused. Returns which."""
    tids = [int(t) for t in os.listdir("/proc/self/task")] if os.path.isdir("/proc/self/task") else [0]
    got = "SCHED_IDLE"
    for tid in tids:
        try:
            os.setpriority(os.PRIO_PROCESS, tid, 19)
            os.sched_setscheduler(tid, os.SCHED_IDLE, os.sched_param(0))
        except (OSError, AttributeError):
            got = "nice 19"
    return got


def serve_worker(idle: bool = True) -> None:
    """The worker's main: read the factory, build the describer, then answer one frame at a time until stdin
    closes. A describer's exception is one line back to the parent; nothing is printed."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the server ends us
    if idle:
        lowest_priority()
    parent = os.getppid()

    def orphaned() -> None:  # our parent was killed while we were busy (stdin closing is noticed between frames)
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=orphaned, daemon=True).start()
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever a library prints goes to stderr, never into the replies

    def reply(kind: str, value: Any) -> None:
        data = pickle.dumps((kind, value), protocol=5)
        out.write(struct.pack("<Q", len(data)) + data)
        out.flush()

    try:
        describer = _recv(0)()
        if idle:
            lowest_priority()  # any thread the model started on its own
        describer.describe(np.full((360, 640, 3), 128, np.uint8))  # the first run pays for warm-up, not a user
    except EOFError:
        return
    except Exception as err:  # noqa: BLE001 - reported to the parent in one line
        reply("failed", f"{type(err).__name__}: {err}".splitlines()[0])
        return
    reply("ready", None)
    while True:
        try:
            image = _recv(0)
        except EOFError:
            return
        try:
            cpu = time.process_time()
            text = describer.describe(image)
            reply("ok", (text, time.process_time() - cpu))
        except BrokenPipeError:
            return
        except Exception as err:  # noqa: BLE001
            reply("error", f"{type(err).__name__}: {err}".splitlines()[0])
