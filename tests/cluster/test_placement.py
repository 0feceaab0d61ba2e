"""The placement rule on fixtures: most free slots first, never a dead or full host, and a reason when none fits."""

from omnirt.tools.cluster.placement import HostState, full_reason, placement_order


def names(hosts):
    return [h.name for h in placement_order(hosts)]


def test_the_host_with_most_free_slots_comes_first_so_sessions_spread_across_nodes():
    a, b = HostState("a", "n1", slots=2), HostState("b", "n2", slots=2)
    assert names([a, b]) == ["a", "b"]  # a tie: fewest sessions, then by name
    a1 = HostState("a", "n1", slots=2, sessions=1)
    assert names([a1, b]) == ["b", "a"]  # the second session goes to the other node
    assert names([HostState("a", "n1", 8, 5), HostState("b", "n2", 2, 0)]) == ["a", "b"]  # 3 free beat 2 free


def test_dead_and_full_hosts_are_never_chosen():
    dead = HostState("a", "n1", slots=4, alive=False)
    full = HostState("b", "n2", slots=2, sessions=2)
    over = HostState("c", "n3", slots=1, sessions=3)  # a host may briefly report more than its slots
    live = HostState("d", "n4", slots=2, sessions=1)
    assert names([dead, full, over, live]) == ["d"]
    assert names([dead, full]) == []


def test_a_full_cluster_says_why_in_one_line():
    hosts = [HostState("a", "n1", 2, 2), HostState("b", "n2", 2, 2), HostState("c", "n3", 4, 0, alive=False)]
    reason = full_reason(hosts)
    assert reason == ("too many sessions: the cluster is full (4 of 4 session slots in use on 2 live hosts; "
                      "1 host lost)")
    assert full_reason([HostState("a", "n1", 2, alive=False)]) == "no live session host; 1 host lost"
    assert full_reason([]) == "no session host in the cluster"
    assert "\n" not in reason


def test_a_draining_host_is_never_chosen_and_the_refusal_says_so():
    draining = HostState("a", "n1", slots=4, draining=True)
    live = HostState("b", "n2", slots=2, sessions=2)
    assert names([draining, live]) == []  # the draining host has four free slots, and gets nothing
    assert names([draining, HostState("b", "n2", slots=2, sessions=1)]) == ["b"]
    assert full_reason([draining, live]) == ("too many sessions: the cluster is full (2 of 2 session slots in use "
                                             "on 1 live host; 1 host draining)")
    assert HostState.reported("a", {"node_id": "n1", "slots": 4, "sessions": 1, "draining": True}).draining
