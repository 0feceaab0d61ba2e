"""Sessions through a cluster's front door: placed, answered, and moved when a node dies.

`omnirt serve --cluster local:K` runs as a user runs it (its own process; a local Ray cluster of K nodes on this
machine, a session host per node). N real aiortc clients connect through its front door, one after another, and
each asks T questions of tools/questions.py (piper's voice), waiting for each whole answer and then a pause drawn
from `--gap-s` before the next: sessions that each speak every few seconds. Voice-to-voice is timed at the client,
as `omnirt bench latency` times it.

With `--kill-node`, once half the turns are answered the node (not the head) whose host holds the most sessions is
killed as in a crash: every process of that node gets SIGKILL at once (tools/bench/cluster_nodes.py). Its sessions'
clients are told by the front door and offer again with their session id, as the page does (tools/rtc_client.py);
a turn cut by the crash is asked again once the session is back (unless the lost host had already heard it: then
the new host answers it unasked, and that answer is the turn's), and a session whose turns were all done asks one
more, so every moved session is heard answering. Timed from the kill: the session back (data channel open on
another node), and the first sound of its next answer.

`--pin-cores` keeps each node on one core of its own (node i on core i), as a one-core machine: see cluster_nodes.py
for how. The line the issue asks for is printed, then the details; JSON and an HTML page are written.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ...runtime.clock import now
from ..voice import add_voice_arguments, voice_config, voice_flags
from .cluster_nodes import ONE_CORE_FLAGS, NodePinner, kill_node, local_nodes
from .report import _cdf_svg, cpu_probe, percentiles
from .servers import ServerProcess, stats


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--nodes", type=int, default=2, help="nodes of the local cluster (omnirt serve --cluster local:K)")
    p.add_argument("--sessions", type=int, default=4, help="sessions connected through the front door")
    p.add_argument("--turns", type=int, default=3, help="questions each session asks")
    p.add_argument("--kill-node", action="store_true",
                   help="kill the node holding the most sessions (not the head) once half the turns are answered")
    add_common_arguments(p)
    p.add_argument("--json", default="bench-results/cluster.json")


def add_common_arguments(p: argparse.ArgumentParser) -> None:
    """The options `bench cluster` and `bench capacity` share."""
    p.add_argument("--gap-s", type=_gap, default=(1.0, 3.0), metavar="LO,HI",
                   help="pause after an answer before the session's next question, drawn uniformly (seconds)")
    p.add_argument("--slots", type=int, help="session slots per node (default: every session fits on one node)")
    p.add_argument("--pin-cores", action="store_true", help="each node on one core of its own (node i on core i)")
    p.add_argument("--seed", type=int, default=0)
    add_voice_arguments(p, partials=True)  # passed on to the server


def _gap(text: str) -> tuple[float, float]:
    try:
        lo, hi = (float(x) for x in (text.split(",") if "," in text else (text, text)))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LO,HI in seconds, not {text!r}") from None
    if not 0 <= lo <= hi:
        raise argparse.ArgumentTypeError(f"need 0 <= LO <= HI, not {text!r}")
    return lo, hi


# ---------------------------------------------------------------- the server and its nodes

@contextmanager
def cluster_server(args: argparse.Namespace, nodes: int, slots: int) -> Iterator[tuple[str, ServerProcess, Any]]:
    """`omnirt serve --cluster local:K --no-vision` (the clients send no camera), pinned with --pin-cores (and with
    `share_cores` the clients and the front door on the nodes' cores too): (its URL, the process, the pinner or
    None)."""
    cores = sorted(os.sched_getaffinity(0))
    if args.pin_cores and nodes > len(cores):
        raise SystemExit(f"omnirt: error: --pin-cores needs a core per node: {nodes} nodes, {len(cores)} cores")
    flags = [*(ONE_CORE_FLAGS if args.pin_cores else ()), *voice_flags(voice_config(args))]
    server = ServerProcess(["--cluster", f"local:{nodes}", "--max-sessions", str(slots), "--no-vision", *flags])
    rest = cores[:nodes] if getattr(args, "share_cores", False) else None
    pinner = NodePinner(lambda: server.proc.pid if server.proc else None, cores[:nodes], rest=rest) \
        if args.pin_cores else None
    if pinner:
        pinner.start()
    try:
        with server as url:
            if pinner:
                pinner.pass_once()
                pinner.settle()
            yield url, server, pinner
    finally:
        if pinner:
            pinner.stop()


async def until(pred: Any, timeout: float, what: str) -> Any:
    deadline = now() + timeout
    while not (result := pred()):
        if now() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
    return result


# ---------------------------------------------------------------- the sessions

class Talk:
    """N sessions talking through one front door; `records`: one per question asked (a turn cut by a node loss
    and asked again is two records)."""

    def __init__(self, url: str, sessions: int, turns: int, gap_s: tuple[float, float], seed: int = 0) -> None:
        from ..clips import make_clip
        from ..questions import QUESTIONS

        self.url, self.sessions, self.turns, self.gap_s = url, sessions, turns, gap_s
        self.rng = np.random.default_rng(seed)
        self.questions = [(q.text, make_clip(q.text, "piper")) for q in QUESTIONS]
        self.records: list[dict[str, Any]] = []
        self.clients: list[Any] = []
        self.refused: list[str] = []
        self.killed_at: float | None = None
        self.lost = 0  # sessions the killed node held when it was killed
        self.finished = 0  # sessions that asked all they will ask
        self.kill_done = asyncio.Event()
        self.t0 = now()

    async def connect(self) -> None:
        from ..rtc_client import ClientOptions, RTCClient

        for _ in range(self.sessions):
            client = RTCClient(self.url, ClientOptions(video=False, timeout_s=30.0))
            try:
                await client.connect()
                self.clients.append(client)
            except (ConnectionError, TimeoutError) as err:
                await client.close()
                self.refused.append(str(err).splitlines()[0])

    def answered(self) -> int:
        return sum(r["answered"] for r in self.records)

    async def run(self, killer: Any = None) -> None:
        """Every session's questions (and the killer beside them, if any); the clients are closed at the end."""
        try:
            spread = max(self.gap_s[1], 1.0)
            starts = sorted(self.rng.uniform(0, spread, len(self.clients)))
            jobs = [self._session(i, c, starts[i]) for i, c in enumerate(self.clients)]
            if killer is None:
                self.kill_done.set()
            else:
                jobs.append(killer(self))
            await asyncio.gather(*jobs)
        finally:
            await asyncio.gather(*(c.close() for c in self.clients), return_exceptions=True)

    async def _session(self, i: int, client: Any, start: float) -> None:
        await asyncio.sleep(start)
        done, asked = 0, i
        while True:
            if done >= self.turns:  # a session moved after its last turn asks once more: is it answered there?
                await self.kill_done.wait()
                await self._lost_sessions_back()
                moved = [r for r in client.reconnects if r["told"] > (self.killed_at or float("inf"))]
                if not moved or any(r["answered"] and r["first_sound"] >= moved[0]["told"] for r in self._of(i)):
                    self.finished += 1
                    return
            text, clip = self.questions[asked % len(self.questions)]
            record = await self._turn(i, client, text, clip)
            self.records.append(record)
            if record.get("cut_by_move"):
                continue  # asked again at once, on the new host
            if record.get("lost"):
                self.finished += 1
                return
            done, asked = done + 1, asked + 1
            lo, hi = self.gap_s
            await asyncio.sleep(float(self.rng.uniform(lo, hi)))

    async def _lost_sessions_back(self, timeout_s: float = 60.0) -> None:
        """Wait (a bounded while) until every session the killed node held is back on another host. The front door
        tells a lost session's page a moment after the kill, so a session that had asked all its questions must not
        take the silence meanwhile for "not moved", finish, and close its client before it is told."""
        if self.killed_at is None:
            return
        killed_at = self.killed_at

        def back() -> int:
            return sum(any(r["told"] >= killed_at for r in c.reconnects) for c in self.clients)

        deadline = now() + timeout_s
        while back() < self.lost and now() < deadline:
            await asyncio.sleep(0.05)

    def _of(self, session: int) -> list[dict[str, Any]]:
        return [r for r in self.records if r["session"] == session]

    async def _turn(self, i: int, client: Any, text: str, clip: Path) -> dict[str, Any]:
        """One question; a move of the session while it is under way cuts it (recorded as such, to ask again)."""
        record: dict[str, Any] = {"session": i, "question": text, "answered": False}
        try:
            await until(lambda: client.channel.readyState == "open", 30, "the session back")
        except TimeoutError:
            return {**record, "lost": True, "error": "the session did not come back within 30 s"}
        pc = client.pc
        record["t_asked"] = now()
        task = asyncio.ensure_future(client.turn(clip, timeout=60))
        while not task.done() and client.pc is pc:
            await asyncio.wait({task}, timeout=0.05)
        if not task.done():  # moved: the old host is gone and this turn with it
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            _hush(client.mic)
            return await self._after_move(client, record)
        try:
            t = task.result()
        except Exception as err:  # noqa: BLE001 - a lost turn is a result to report
            return {**record, "error": f"{type(err).__name__}: {err}".splitlines()[0]}
        return _heard(record, t, voice_to_voice_ms=t.voice_to_voice_ms,
                      reply_ms=None if t.first_sound is None else round((t.end_event["t"] - t.first_sound) * 1e3, 1),
                      server=t.latency and {"total": t.latency["total"], "segments": dict(t.latency["segments"])})

    async def _after_move(self, client: Any, record: dict[str, Any]) -> dict[str, Any]:
        """A turn cut by its session's move. If the old host had heard the question and not played its answer, the
        new host answers it unasked (`answering`): that answer is the turn's, heard without asking again. Else the
        turn is recorded as cut, to ask again."""
        try:
            back = await until(lambda: next((r for r in client.reconnects if r["told"] >= record["t_asked"]), None),
                               30, "the session back")
        except TimeoutError:
            return {**record, "cut_by_move": True}
        if not back["answering"]:
            return {**record, "cut_by_move": True}
        try:
            t = await client.reply(set(), back["told"], timeout=60)
        except Exception as err:  # noqa: BLE001 - a lost turn is a result to report
            return {**record, "answered_after_move": True, "error": f"{type(err).__name__}: {err}".splitlines()[0]}
        return _heard(record, t, answered_after_move=True, voice_to_voice_ms=None, reply_ms=None, server=None)


def _heard(record: dict[str, Any], t: Any, **timing: Any) -> dict[str, Any]:
    """A question's record with what came back (a tools/rtc_client.py Turn): answered when its answer had words and
    was heard."""
    return {**record, "heard": t.heard, "answer": t.answer, "answered": bool(t.answer.strip()) and
            t.first_sound is not None, "first_sound": t.first_sound, **timing}


def _hush(mic: Any) -> None:
    """Forget the question the microphone was still speaking when its connection died: the user asks again from
    the start on the new one (tools/rtc_client.py's MicTrack keeps a clip until it has played it all)."""
    mic.hush()


# ---------------------------------------------------------------- the node loss

def make_killer(server: ServerProcess, url: str, loss: dict[str, Any]) -> Any:
    """The task that kills a node once half the turns are answered; what it did goes into `loss`."""

    async def killer(talk: Talk) -> None:
        try:
            half = max(1, talk.sessions * talk.turns // 2)
            await until(lambda: talk.answered() >= half or talk.finished == len(talk.clients), 900, "half the turns")
            assert server.proc is not None
            nodes = [n for n, _ in local_nodes(server.proc.pid)]
            hosts = (await asyncio.to_thread(stats, url)).get("hosts", [])
            held = {h["node"]: h["sessions"] for h in hosts if h["alive"]}
            victims = sorted((n for n in nodes[1:] if held.get(n.node_id)), key=lambda n: -held[n.node_id])
            if not victims:
                loss["error"] = "no node but the head holds a session"
                return
            victim = victims[0]
            talk.killed_at, talk.lost = now(), held[victim.node_id]
            loss.update(node=victim.node_id, sessions=held[victim.node_id], processes=kill_node(server.proc.pid,
                                                                                               victim.node_id),
                        at_s=round(talk.killed_at - talk.t0, 2))
        finally:
            talk.kill_done.set()

    return killer


def node_loss(talk: Talk, loss: dict[str, Any]) -> dict[str, Any]:
    """For each session moved after the kill: seconds from the kill to its session back, and to the first sound
    of its next answer."""
    if talk.killed_at is None:
        return {**loss, "lost": 0, "replaced": 0, "answered": 0, "moves": []}
    moves = []
    for i, client in enumerate(talk.clients):
        moved = [r for r in client.reconnects if r["told"] >= talk.killed_at]
        if not moved:
            continue
        back = moved[0]
        # the first answer heard after the session was told: on the new host (its old one is dead by then), to a
        # question asked there, or to the one the old host had heard and the new one answered unasked
        after = sorted((r for r in talk.records if r["session"] == i and r["answered"]
                        and r["first_sound"] >= back["told"]), key=lambda r: r["first_sound"])
        moves.append({"session": i, "told_s": round(back["told"] - talk.killed_at, 3),
                      "back_s": round(back["open"] - talk.killed_at, 3), "restored": back["restored"],
                      "answered_s": round(after[0]["first_sound"] - talk.killed_at, 3) if after else None,
                      "answer_voice_to_voice_ms": after[0]["voice_to_voice_ms"] if after else None,
                      "asked_s": round(after[0]["t_asked"] - talk.killed_at, 3)
                      if after and not after[0].get("answered_after_move") else None,
                      "answered_unasked": bool(after and after[0].get("answered_after_move"))})
    return {**loss, "lost": loss.get("sessions", 0), "replaced": len(moves),
            "answered": sum(m["answered_s"] is not None for m in moves), "moves": moves}


# ---------------------------------------------------------------- run

def summary_line(s: dict[str, Any]) -> str:
    """The issue's line, from a summary (`summarize`)."""
    loss, v = s["node_loss"], s["voice_to_voice_ms"]
    replaced = (f"{loss['replaced']}" if loss["replaced"] == loss["lost"] else f"{loss['replaced']}/{loss['lost']}")
    return (f"cluster: placed {s['placed']}/{s['sessions']} sessions on {s['nodes_used']} nodes; answered "
            f"{s['answered']}/{s['planned']} turns; node lost: {replaced} sessions re-placed, "
            f"{loss['answered']}/{loss['lost']} answered; voice-to-voice p50 {v['p50']:.0f} p95 {v['p95']:.0f} ms")


def summarize(args: argparse.Namespace, placed: dict[str, Any], records: list[dict[str, Any]],
              loss: dict[str, Any]) -> dict[str, Any]:
    """placed: {"placed", "nodes_used", "refused"}. The planned turns are sessions x turns; a turn cut by the node
    loss and asked again counts once, answered if the question asked again was."""
    final = [r for r in records if not r.get("cut_by_move")]
    return {"bench": "cluster", "nodes": args.nodes, "sessions": args.sessions, "turns_each": args.turns,
            **placed, "planned": args.sessions * args.turns,
            "answered": min(args.sessions * args.turns, sum(r["answered"] for r in final)),
            "cut_by_move": sum(bool(r.get("cut_by_move")) for r in records),
            "voice_to_voice_ms": percentiles([r["voice_to_voice_ms"] for r in final
                                              if r["answered"] and r["voice_to_voice_ms"] is not None]),
            "answered_after_move": sum(bool(r.get("answered_after_move")) and r["answered"] for r in records),
            "node_loss": loss}


async def _bench(args: argparse.Namespace, server: ServerProcess, url: str) -> tuple[dict, list, dict]:
    talk = Talk(url, args.sessions, args.turns, args.gap_s, args.seed)
    await talk.connect()
    hosts = (await asyncio.to_thread(stats, url)).get("hosts", [])
    placed = {"placed": len(talk.clients), "refused": talk.refused, "per_node": {h["node"][:8]: h["sessions"]
                                                                                 for h in hosts},
              "nodes_used": sum(h["sessions"] > 0 for h in hosts)}
    loss: dict[str, Any] = {}
    await talk.run(make_killer(server, url, loss) if args.kill_node else None)
    return placed, talk.records, node_loss(talk, loss)


def write_html(path: Path, summary: dict[str, Any], records: list[dict[str, Any]]) -> Path:
    said = lambda r: r.get("answer") or r.get("error") or ("cut by the node loss" if r.get("cut_by_move") else "")  # noqa: E731
    rows = "".join(f"<tr><td>{r['session']}</td><td>{html.escape(r['question'])}</td><td>{html.escape(said(r))}"
                   f"</td><td>{r.get('voice_to_voice_ms') or ''}</td></tr>" for r in records)
    v2v = [r["voice_to_voice_ms"] for r in records if r["answered"] and r["voice_to_voice_ms"] is not None]
    path.write_text(f"<!doctype html><meta charset=utf-8><title>omnirt bench cluster</title><body style='font-family:"
                    f"sans-serif;max-width:900px'><h1>omnirt bench cluster</h1><p>{html.escape(summary_line(summary))}"
                    f"</p><pre>{html.escape(json.dumps(summary, indent=1))}</pre>"
                    + _cdf_svg(v2v, "voice-to-voice at the clients (CDF)")
                    + f"<h3>questions</h3><table border=1 cellpadding=3><tr><th>session</th><th>asked</th>"
                      f"<th>answer</th><th>voice-to-voice ms</th></tr>{rows}</table></body>")
    return path


def check(args: argparse.Namespace) -> None:
    if args.nodes < 1 or args.sessions < 1 or args.turns < 1:
        raise SystemExit("omnirt: error: --nodes, --sessions and --turns must be at least 1")
    if args.kill_node and args.nodes < 2:
        raise SystemExit("omnirt: error: --kill-node needs --nodes 2 or more (the head node stays)")
    if args.slots is not None and args.slots < 1:
        raise SystemExit("omnirt: error: --slots must be at least 1")


def run(args: argparse.Namespace, console: Any) -> int:
    check(args)
    probe = cpu_probe()
    slots = args.slots or args.sessions
    console.print(f"machine: CPU probe {probe} ms; omnirt serve --cluster local:{args.nodes} ({slots} slots per node"
                  f"{', each node on one core' if args.pin_cores else ''}); {args.sessions} sessions x "
                  f"{args.turns} turns" + (", a node killed mid-run" if args.kill_node else ""))
    started = time.monotonic()
    with cluster_server(args, args.nodes, slots) as (url, server, pinner):
        console.print(f"cluster ready after {time.monotonic() - started:.0f} s"
                      + (f"; nodes on cores {sorted(pinner.assigned.values())}" if pinner else ""))
        placed, records, loss = asyncio.run(_bench(args, server, url))
    summary = summarize(args, placed, records, loss)
    summary.update(cpu_probe_ms=[probe, cpu_probe()], pinned=bool(args.pin_cores), slots=slots,
                   gap_s=list(args.gap_s), closed_by_server=server.closed)
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**summary, "records": records}, indent=1, default=str))
    page = write_html(path.with_suffix(".html"), summary, records)
    print(summary_line(summary))
    for m in loss.get("moves", []):
        print(f"  session {m['session']}: told {m['told_s']:.2f} s after the kill, back {m['back_s']:.2f} s, "
              f"{m['restored']} exchanges restored, next answer heard "
              + (f"{m['answered_s']:.2f} s after the kill" if m["answered_s"] is not None else "never")
              + (" (the question its lost host had heard, answered unasked)" if m["answered_unasked"] else "")
              + (f" (asked {m['asked_s']:.2f} s after the kill, voice-to-voice {m['answer_voice_to_voice_ms']:.0f} ms)"
                 if m.get("asked_s") is not None and m["answer_voice_to_voice_ms"] is not None else ""))
    if loss.get("error"):
        print(f"  node not killed: {loss['error']}")
    if placed["refused"]:
        print(f"  refused: {placed['refused'][0]}")
    print(f"machine: CPU probe {summary['cpu_probe_ms'][0]} ms before, {summary['cpu_probe_ms'][1]} ms after "
          f"(tools/bench/report.py cpu_probe: lower is a quieter host); wrote {path} and {page}")
    ok = summary["answered"] == summary["planned"] and loss["answered"] == loss["lost"]
    return 0 if ok else 1
