"""The Ray nodes of a local cluster (`omnirt serve --cluster local:K`) seen as processes: each pinned to a core,
or one killed as in a crash.

A local node is a raylet (`raylet --node_id=ID`), the processes it starts (the Python workers: the session host's
actor among them) and its agents (`--node-id=ID`). Only processes that descend from the given server process are
looked at, so another cluster on the same machine is never touched.

Pinning is what `taskset -a -p -c CORE PID` does, applied to every thread of every process of the node, again and
again while the bench runs (`NodePinner`): a process or thread started later inherits its parent's core anyway, and
the repeat catches one that started between two passes. Ray's own `num_cpus` only counts tasks; it limits no actual
CPU use, so it cannot make a node a one-core machine. The node's models are told to use one thread each besides
(`ONE_CORE_FLAGS`), as on a one-core machine.
"""

from __future__ import annotations

import os
import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

# What `omnirt serve` is told when each node has one core: llama.cpp's threads spin at barriers, two of them on one
# core would wait on each other (models/llama.py); the ONNX models' threads do not spin (models/onnx.py).
ONE_CORE_FLAGS = ("--thinker-threads", "1", "--thinker-lead-threads", "1", "--thinker-batch-threads", "1")


@dataclass(frozen=True)
class LocalNode:
    """node_id: Ray's id (hex). raylet: its pid. started: its start time (clock ticks since boot; the head first)."""

    node_id: str
    raylet: int
    started: int


def _processes() -> dict[int, tuple[int, int, list[str]]]:
    """pid -> (parent pid, start time, command line) of every process readable now."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:  # gone meanwhile
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) ": state, ppid, ...; starttime is #22
        out[int(entry.name)] = (int(fields[1]), int(fields[19]), cmdline)
    return out


def _descendants(root: int, procs: dict[int, tuple[int, int, list[str]]]) -> set[int]:
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in procs.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def local_nodes(server_pid: int) -> list[tuple[LocalNode, set[int]]]:
    """The nodes started by this server process (its local cluster), the head node's first, each with its
    processes: its raylet and what the raylet started, and its agents."""
    procs = _processes()
    mine = _descendants(server_pid, procs)
    nodes = []
    for pid in mine:
        _, started, cmd = procs[pid]
        if cmd and Path(cmd[0]).name == "raylet":
            node_id = next((a.split("=", 1)[1] for a in cmd if a.startswith("--node_id=")), "")
            agents = {p for p in mine if f"--node-id={node_id}" in procs[p][2]}
            pids = {pid} | _descendants(pid, procs) | agents
            for agent in agents:
                pids |= _descendants(agent, procs)
            nodes.append((LocalNode(node_id, pid, started), pids))
    return sorted(nodes, key=lambda n: (n[0].started, n[0].raylet))


def cpu_seconds(server_pid: int) -> dict[str, float]:
    """CPU time (user + system) each node's live processes have used so far, by node id."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for node, pids in local_nodes(server_pid):
        total = 0
        for pid in pids:
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            total += sum(int(x) for x in fields[11:15])  # utime, stime, and of its waited-for children
        out[node.node_id] = total / tick
    return out


def cpu_outside_nodes(server_pid: int) -> float:
    """CPU time (user + system) used so far by the server's processes that belong to no node: the front door and
    Ray's head services (GCS, dashboard), which run beside the nodes and, in `bench capacity`, on their cores."""
    procs = _processes()
    in_nodes = set().union(*(pids for _, pids in local_nodes(server_pid)))
    return sum(_own_cpu_s(pid) for pid in ({server_pid} | _descendants(server_pid, procs)) - in_nodes)


def _own_cpu_s(pid: int) -> float:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2:].split()
    return sum(int(x) for x in fields[11:13]) / os.sysconf("SC_CLK_TCK")  # utime, stime (children counted apart)


def pin(pids: set[int], cores: set[int]) -> int:
    """Every thread of these processes onto `cores`; how many threads were pinned."""
    n = 0
    for pid in pids:
        try:
            tids = [int(t) for t in os.listdir(f"/proc/{pid}/task")]
        except OSError:
            continue
        for tid in tids:
            try:
                os.sched_setaffinity(tid, cores)
                n += 1
            except OSError:  # ended meanwhile
                pass
    return n


def kill_node(server_pid: int, node_id: str) -> int:
    """SIGKILL every process of the node at once (a crash: nothing is told, nothing shuts down); how many."""
    pids = next((p for n, p in local_nodes(server_pid) if n.node_id == node_id), set())
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return len(pids)


class NodePinner:
    """Keeps node i (in start order) of the local cluster of the server whose pid `server_pid()` gives (None: not
    started yet) on core cores[i % len(cores)] until stopped; with `rest`, the server's other processes and this one
    (the clients) on those cores (given back on stop). `assigned`: node id -> core, as pinned. A pass every
    `every_s` while the cluster starts (before its workers load the models), every `settled_s` once `settle()` is
    called (a pass reads all of /proc: not free on 2 cores)."""

    def __init__(self, server_pid: Callable[[], int | None], cores: list[int], every_s: float = 0.25,
                 settled_s: float = 2.0, rest: list[int] | None = None) -> None:
        self.server_pid, self.cores, self.every_s, self.settled_s = server_pid, cores, every_s, settled_s
        self.rest = rest
        self._was = os.sched_getaffinity(0)
        self.assigned: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="omnirt-node-pinner", daemon=True)

    def start(self) -> "NodePinner":
        self._thread.start()
        return self

    def pass_once(self) -> None:
        pid = self.server_pid()
        nodes = local_nodes(pid) if pid else []
        for i, (node, pids) in enumerate(nodes):
            core = self.cores[i % len(self.cores)]
            pin(pids, {core})
            self.assigned[node.node_id] = core
        if self.rest and pid:  # the front door, Ray's head services and this process (the clients)
            in_nodes = set().union(*(pids for _, pids in nodes))
            pin(({pid} | _descendants(pid, _processes()) | {os.getpid()}) - in_nodes, set(self.rest))

    def settle(self) -> None:
        self.every_s = self.settled_s

    def _run(self) -> None:
        while not self._stop.is_set():
            self.pass_once()
            self._stop.wait(self.every_s)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        if self.rest:
            pin({os.getpid()}, self._was)
