"""Faults and maintenance on a real 2-node cluster: a host drained mid-turn finishes the turn, then its session
moves to the other node with its history; a node lost mid-conversation: its session comes back on the other node
with its history within 5 s, and the question it was answering when the node died is answered there without being
asked again; either way the other session on the surviving node never notices.

Its own 2-node cluster (ray.cluster_utils.Cluster, one CPU and 2 session slots per node, real models), since the
node is really removed (its raylet and every process on it are killed, as in a crash: allow_graceful=False). Real
aiortc clients talk through the real front door; the one whose host is lost is told by the door's `/session` watch
and offers again with its session id, exactly as the page does. What each host holds is asked of the host over Ray,
so the check does not rest on the front door's own bookkeeping. The tests run in order (the last removes a node).
"""

from __future__ import annotations

import asyncio
import re

import pytest

pytest.importorskip("ray", reason="needs the cluster extra: pip install 'omnirt[cluster]'")
import ray  # noqa: E402

from omnirt.runtime.clock import now  # noqa: E402
from omnirt.tools.rtc_client import RTCClient  # noqa: E402

from cluster_door import Door, door_on_cluster  # noqa: E402

pytestmark = [pytest.mark.models, pytest.mark.slow]
SLOTS = 2
REPLACED_WITHIN_S = 5.0  # issue 16's target: a node loss re-places and answers every affected session within 5 s


@pytest.fixture(scope="module")
def cluster():
    with door_on_cluster(SLOTS) as (c, door):
        yield c, door


def host_on(door: Door, node: str):
    return next(h for h in door.server.hosts if h.state.node_id == node)


async def until(pred, timeout: float, what: str):
    deadline = now() + timeout
    while not (result := pred()):
        assert now() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)
    return result


async def two_sessions(door: Door, head: str) -> tuple[RTCClient, RTCClient, str]:
    """(a, b, a's node): a on the worker node, b on the head node (the placement spreads them)."""
    clients = [RTCClient(door.url), RTCClient(door.url)]
    for client in clients:
        await client.connect()
    nodes = [node for _, node in door.server.placements[-2:]]
    assert head in nodes and len(set(nodes)) == 2, nodes
    a, b = (clients[0], clients[1]) if nodes[1] == head else (clients[1], clients[0])
    return a, b, nodes[0] if nodes[1] == head else nodes[1]


async def test_a_drained_host_finishes_the_turn_then_its_session_moves_with_its_history(cluster):
    import aiohttp

    from omnirt.tools.clips import make_clip

    c, door = cluster
    head = ray.get_runtime_context().get_node_id()
    a, b, drained = await two_sessions(door, head)
    name = host_on(door, drained).state.name
    try:
        b_pc = b.pc
        speaking = asyncio.ensure_future(a.turn(make_clip("My name is Ada.", "piper"), timeout=90))
        await until(lambda: a.event("status", state="thinking") or speaking.done(), 60, "a's turn to begin")
        async with aiohttp.ClientSession() as http:  # mid-turn: the drain must not cut it
            async with http.post(door.url + "drain", params={"host": name}) as r:
                assert r.status == 200 and await r.json() == {"host": name, "draining": True, "sessions": 1,
                                                              "moving": 1}
        turn = await speaking
        assert turn.answer and turn.end_event["state"] == "listening" and not turn.end_event["cut"]
        assert a.reconnects == []  # not before the turn ended
        await until(lambda: a.reconnects, 15, "the session to move")
        assert door.server.placements[-1][1] == head  # placed on the host that is not draining
        conv = door.server.book.get(a.session)
        assert a.reconnects[0]["restored"] == 1 and conv.exchanges[0][0] == turn.heard
        restored = ray.get(host_on(door, head).actor.conversation.remote(conv.key), timeout=10)
        assert [tuple(x) for x in restored] == conv.exchanges
        assert b.pc is b_pc and b.reconnects == [] and b.channel.readyState == "open"
        assert ray.get(host_on(door, drained).actor.state.remote(), timeout=10)["sessions"] == 0  # emptied
        with pytest.raises(ConnectionError) as refused:  # the head is full; the drained host takes nothing
            await RTCClient(door.url).connect()
        assert "1 host draining" in str(refused.value)
    finally:
        async with aiohttp.ClientSession() as http:  # taken back even when a check failed: the next test needs it
            async with http.delete(door.url + "drain", params={"host": name}) as r:
                assert r.status == 200 and (await r.json())["draining"] is False
        for client in (a, b):
            await client.close()
    await until(lambda: all(ray.get(h.actor.state.remote(), timeout=10)["sessions"] == 0
                            for h in door.server.hosts), 15, "the sessions to end")


async def test_a_question_heard_but_not_answered_is_answered_on_the_new_host_unasked(cluster):
    """A host that dies between hearing a question and playing its reply leaves the door's record ending on that
    question with no answer (its TurnRecorder reports a question once final and its answer once heard). Here the
    record is left so by hand, on a session that ended, and the session resumed with its id: the new placement
    answers the question without the client saying anything, and the page is told which question it answers."""
    _, door = cluster
    first = RTCClient(door.url)
    await first.connect()
    sid = first.session
    await first.close()
    conv = door.server.book.get(sid)
    await until(lambda: conv.state == "ended", 15, "the first placement to end")
    conv.exchanges = [("My name is Ada.", "Nice to meet you, Ada."), ("What is the capital of France?", "")]
    again = RTCClient(door.url)
    again.session = sid
    try:
        t0 = now()
        await again.connect()
        assert again.answering == "What is the capital of France?" and again.restored == 1
        turn = await again.reply(set(), t0, timeout=90)  # the client never speaks
        assert turn.heard == "What is the capital of France?"
        assert "paris" in turn.answer.lower() and turn.first_sound is not None, turn
        await until(lambda: conv.exchanges[-1][1], 10, "the answer reported to the door")
        assert conv.exchanges[0] == ("My name is Ada.", "Nice to meet you, Ada.") and len(conv.exchanges) == 2
        assert conv.exchanges[1][0] == "What is the capital of France?" and "paris" in conv.exchanges[1][1].lower()
    finally:
        await again.close()
    await until(lambda: all(ray.get(h.actor.state.remote(), timeout=10)["sessions"] == 0
                            for h in door.server.hosts), 15, "the sessions to end")


async def test_a_node_lost_mid_turn_its_session_comes_back_with_its_history_and_its_question_answered(cluster,
                                                                                                     capsys):
    from omnirt.tools.clips import make_clip

    c, door = cluster
    head = ray.get_runtime_context().get_node_id()  # the driver's node: the one that stays
    a, b, lost_node = await two_sessions(door, head)  # a: on the node to go
    clients = [a, b]
    try:
        assert a.session and b.session and a.session != b.session

        turn = await a.turn(make_clip("My name is Ada.", "piper"), timeout=90)
        # the name as heard: the int8 recogniser hears "Ada" as "Aida" or "Zade" on some CPUs (AMD EPYC), and what
        # is tested here is that the new host answers from the conversation the user had, whatever it heard
        heard_name = re.search(r"name is ([A-Za-z]+)", turn.heard)
        assert heard_name, turn.heard
        name = heard_name.group(1).lower()
        conv = door.server.book.get(a.session)  # the door holds the conversation, outside the host that runs it
        await until(lambda: conv.exchanges and conv.exchanges[-1][1], 10, "the answer reported to the door")
        kept = list(conv.exchanges)
        assert kept[-1][0] == turn.heard and kept[-1][1], kept
        b_pc, b_events = b.pc, len(b.events)

        # the node dies in the middle of the next turn: its question heard to the end, its reply not yet played
        await a.say(make_clip("What is my name?", "piper"))
        await until(lambda: len(conv.exchanges) == len(kept) + 1 and not conv.exchanges[-1][1], 30,
                    "the question at the door, its answer not yet heard")
        question = conv.exchanges[-1][0]
        victim = next(n for n in c.local.worker_nodes if n.node_id == lost_node)
        t0 = now()
        c.local.remove_node(victim, allow_graceful=False)  # a crash: the raylet and the host are killed
        await until(lambda: a.reconnects, 2 * REPLACED_WITHIN_S, "the session to come back")
        back_s = a.reconnects[0]["open"] - t0
        detected_s = a.reconnects[0]["told"] - t0
        assert back_s < REPLACED_WITHIN_S
        assert door.server.placements[-1][1] == head  # placed on the live host, never on the dead one
        assert not host_on(door, lost_node).state.alive
        assert a.reconnects[0]["restored"] == len(kept) and a.reconnects[0]["answering"] == question
        # answered on the new host without being asked again (its sound timed on the new connection: the old host
        # may have begun the reply before it died)
        again = await a.reply(set(), a.reconnects[0]["open"], timeout=90)
        answered_s = again.first_sound - t0 if again.first_sound is not None else float("nan")
        with capsys.disabled():
            print(f"\nnode lost mid-turn: the page was told after {detected_s:.2f} s, its session was back (data "
                  f"channel open on the other node) {back_s:.2f} s and its question {question!r} answered "
                  f"{again.answer!r} {answered_s:.2f} s after the node was removed; door: {door.server.moves}")
        assert again.heard == question and name in again.answer.lower(), (name, question, again.answer)
        assert again.first_sound is not None  # heard, not only sent as text
        restored = ray.get(host_on(door, head).actor.conversation.remote(conv.key), timeout=10)
        assert [tuple(x) for x in restored][:len(kept)] == kept  # the new host's Thinker has the history
        await until(lambda: len(conv.exchanges) == len(kept) + 1 and conv.exchanges[-1][1], 10, "the new turn")
        assert conv.exchanges[:len(kept)] == kept  # the conversation goes on from where it was

        # the other session did not notice: same connection, no error, never told to move
        assert b.pc is b_pc and b.reconnects == [] and b.channel.readyState == "open"
        assert not [e for e in b.events[b_events:] if e["type"] == "error"]

        other = await b.turn(make_clip("What is the capital of France?", "piper"), timeout=90)
        assert "paris" in other.answer.lower(), (other.heard, other.answer)
        assert b.pc is b_pc and b.reconnects == []
    finally:
        for client in clients:
            await client.close()
