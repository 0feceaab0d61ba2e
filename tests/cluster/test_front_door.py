"""Sessions placed across the nodes of a real 2-node Ray cluster on this machine, through the real front door.

One local cluster (ray.cluster_utils.Cluster: two raylets, one CPU, 2 session slots and an 80 MB object store each)
runs for the module, with a session host per node that has loaded the real models; the front door (the same
ClusterServer `omnirt serve --cluster` runs) signals on its own event loop in a thread, and real aiortc clients
connect through it. The hosts are asked directly, over Ray, where they run and what they hold, so a check does not
rest on the front door's own bookkeeping. The tests run in order (the last one kills a host).
"""

from __future__ import annotations

import asyncio
import logging
import os

import pytest

pytest.importorskip("ray", reason="needs the cluster extra: pip install 'omnirt[cluster]'")
import ray  # noqa: E402

from omnirt.tools.rtc_client import RTCClient  # noqa: E402

from cluster_door import Door, door_on_cluster  # noqa: E402

pytestmark = [pytest.mark.models, pytest.mark.slow]
SLOTS = 2


@pytest.fixture(scope="module")
def cluster():
    with door_on_cluster(SLOTS) as (c, door):
        yield door


def held(door: Door) -> dict[str, int]:
    """Sessions per node, as each live host itself reports them (over Ray, not through the front door)."""
    out = {}
    for h in door.server.hosts:
        if h.state.alive:
            s = ray.get(h.actor.state.remote(), timeout=10)
            out[s["node_id"]] = s["sessions"]
    return out


async def wait_held(door: Door, expected: dict[str, int], timeout: float = 15.0) -> None:
    """Closing a client reaches its host a little later (the data channel closes): wait for the counts."""
    for _ in range(int(timeout / 0.2)):
        if held(door) == expected:
            return
        await asyncio.sleep(0.2)
    assert held(door) == expected


def test_there_is_a_host_on_each_node(cluster):
    nodes = {n["NodeID"] for n in ray.nodes() if n["Alive"]}
    assert len(nodes) == 2
    assert set(held(cluster)) == nodes  # each host reports the node Ray runs it on: one per node
    assert held(cluster) == {n: 0 for n in nodes}


async def test_sessions_land_on_different_nodes(cluster):
    async with RTCClient(cluster.url) as a:
        first = {n: c for n, c in held(cluster).items() if c}
        assert list(first.values()) == [1], first
        async with RTCClient(cluster.url) as b:
            counts = held(cluster)
            assert sorted(counts.values()) == [1, 1], counts  # the second went to the other node, not beside the first
            assert a.channel.readyState == b.channel.readyState == "open"
            assert [node for _, node in cluster.server.placements[-2:]] != [next(iter(first))] * 2
    await wait_held(cluster, {n: 0 for n in counts})


def udp_owners(port: int) -> set[int]:
    """The processes holding a UDP socket bound to `port` (from /proc: the socket's inode among their fds)."""
    inodes = {f"socket:[{f[9]}]" for f in (line.split() for line in open("/proc/net/udp").read().splitlines()[1:])
              if int(f[1].split(":")[1], 16) == port}
    def link(path: str) -> str | None:
        try:
            return os.readlink(path)
        except OSError:  # a descriptor closed since the listing: one gone fd must not hide the process's others
            return None

    owners = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:  # a process that ended meanwhile
            continue
        if any(link(f"/proc/{pid}/fd/{fd}") in inodes for fd in fds):
            owners.add(int(pid))
    return owners


async def test_media_goes_to_the_hosts_process_never_through_the_front_door(cluster):
    async with RTCClient(cluster.url) as client:
        node = cluster.server.placements[-1][1]
        host = next(h for h in cluster.server.hosts if h.state.node_id == node)
        host_pid = ray.get(host.actor.state.remote(), timeout=10)["pid"]
        answer = client.pc.remoteDescription.sdp
        ports = {int(line.split()[5]) for line in answer.splitlines() if line.startswith("a=candidate:")}
        ice = client.pc.getTransceivers()[0].receiver.transport.transport.iceGatherer._connection
        used = ice._nominated[1].remote_candidate.port  # the candidate pair ICE chose: the media path
        assert ports and used in ports
        assert host_pid != os.getpid() and udp_owners(used) == {host_pid}  # the door (this process) holds none
        assert udp_owners(ice._nominated[1].local_candidate.port) == {os.getpid()}  # (the client's end is here)
    await wait_held(cluster, {n: 0 for n in held(cluster)})


async def test_a_spoken_turn_is_answered_through_a_session_on_the_second_node(cluster):
    from omnirt.tools.clips import make_clip

    head = ray.get_runtime_context().get_node_id()  # this driver runs on the head node
    second = next(n for n in held(cluster) if n != head)
    opened = []  # (client, node): sessions are opened until the head's host is full ...
    try:
        while held(cluster)[head] < SLOTS:
            client = RTCClient(cluster.url)
            await client.connect()
            opened.append((client, cluster.server.placements[-1][1]))
        for client, node in opened:  # ... then those on the second node are closed: only it has free slots
            if node == second:
                await client.close()
        await wait_held(cluster, {head: SLOTS, second: 0})
        async with RTCClient(cluster.url) as client:
            assert held(cluster) == {head: SLOTS, second: 1} and cluster.server.placements[-1][1] == second
            turn = await client.turn(make_clip("What is the capital of France?", "piper"), timeout=60)
            host = next(h for h in cluster.server.hosts if h.state.node_id == second)
            inputs = ray.get(host.actor.state.remote(), timeout=10)["inputs"]  # what reached its pipeline
        assert "paris" in turn.answer.lower(), (turn.heard, turn.answer, inputs)
        assert turn.first_sound is not None, "no reply audio reached the client"
    finally:
        for client, _ in opened:
            await client.close()
    await wait_held(cluster, {head: 0, second: 0})


async def test_a_full_cluster_answers_503_with_a_reason(cluster):
    import aiohttp

    clients = [RTCClient(cluster.url) for _ in range(2 * SLOTS)]
    try:
        for c in clients:
            await c.connect()
        assert sorted(held(cluster).values()) == [SLOTS, SLOTS]
        with pytest.raises(ConnectionError) as refused:
            await RTCClient(cluster.url).connect()
        assert "(503)" in str(refused.value) and "the cluster is full (4 of 4 session slots" in str(refused.value)
        async with aiohttp.ClientSession() as http:  # the front door's own checks still apply before placement
            async with http.post(cluster.url + "offer", data="x", headers={"Content-Type": "text/plain"}) as r:
                assert r.status == 400 and "application/json" in (await r.json())["error"]
    finally:
        for c in clients:
            await c.close()
    await wait_held(cluster, {n: 0 for n in held(cluster)})


async def test_a_dead_host_is_never_chosen_and_the_next_offer_lands_on_the_live_one(cluster, caplog):
    caplog.set_level(logging.INFO, logger="omnirt.cluster")
    async with RTCClient(cluster.url) as busy:  # one session on host B: host A now has the most free slots ...
        nodes = held(cluster)
        b = next(n for n, c in nodes.items() if c == 1)
        a = next(n for n in nodes if n != b)
        victim = next(h for h in cluster.server.hosts if h.state.node_id == a)
        ray.kill(victim.actor, no_restart=True)  # ... and it dies
        await asyncio.sleep(0.5)
        async with RTCClient(cluster.url) as client:  # lands on B, the live one, not on A
            assert cluster.server.placements[-1][1] == b
            assert held(cluster) == {b: 2}
            assert client.channel.readyState == "open" and busy.channel.readyState == "open"
            with pytest.raises(ConnectionError) as refused:  # B is full and A is gone: 503, saying so
                await RTCClient(cluster.url).connect()
            assert "2 of 2 session slots in use on 1 live host; 1 host lost" in str(refused.value)
    gone = [r.getMessage() for r in caplog.records if "is gone" in r.getMessage()]
    assert len(gone) == 1 and a[:8] in gone[0], gone  # said once, in one line
