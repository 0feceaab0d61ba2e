"""The front door's book of conversations (tools/cluster/conversations.py) and the host's side of it (what a
moved session's Thinker starts with, and what is reported of a session's turns), without Ray or models."""

from __future__ import annotations

import asyncio

from omnirt.runtime.frames import Played, TextDelta, TextDone, Transcript
from omnirt.runtime.thinker import ThinkerStage, exchanges_from
from omnirt.tools.cluster.conversations import ConversationBook
from omnirt.tools.cluster.host import TurnRecorder


async def test_a_lost_hosts_sessions_are_told_at_once_and_keep_their_exchanges():
    book = ConversationBook()
    a, b = book.new(), book.new()
    book.placed(a, "h1")
    book.placed(b, "h2")
    book.update(a.key, [("My name is Ada.", "Nice to meet you, Ada.")])
    watching = asyncio.ensure_future(book.watch(a, 30))
    await asyncio.sleep(0.01)
    assert not watching.done()
    assert book.host_lost("h1") == [a]
    assert await asyncio.wait_for(watching, 1) == "lost"  # told at once, not after the watch's timeout
    assert b.state == "live" and await book.watch(b, 0.01) == "live"  # the other host's session: untouched
    assert book.get(a.id).exchanges == [("My name is Ada.", "Nice to meet you, Ada.")]


async def test_reports_from_an_earlier_placement_neither_overwrite_nor_end_the_session():
    book = ConversationBook()
    conv = book.new()
    book.placed(conv, "h1")
    old = conv.key
    book.update(old, [("q", "a")])
    book.host_lost("h1")
    book.placed(conv, "h2")
    assert conv.key != old and conv.state == "live"
    book.update(old, [("stale", "stale")])
    book.ended(old)
    assert conv.exchanges == [("q", "a")] and conv.state == "live"
    book.update(conv.key, [("q", "a"), ("q2", "a2")])
    book.ended(conv.key)
    assert conv.exchanges[-1] == ("q2", "a2") and conv.state == "ended"


def test_records_are_forgotten_keep_s_after_their_session_ended_but_not_while_live():
    book = ConversationBook(keep_s=0.0)
    live, gone = book.new(), book.new()
    book.placed(live, "h")
    book.placed(gone, "h")
    book.ended(gone.key)
    gone.ended_at -= 1
    assert book.get(gone.id) is None and book.get(live.id) is live
    assert book.get(None) is None and book.get(["not", "an", "id"]) is None


def test_a_moved_sessions_thinker_starts_with_the_history_under_turns_it_will_never_reuse():
    thinker = ThinkerStage(backend=None)
    thinker.exchanges = exchanges_from([["My name is Ada.", "Hello Ada."], ["And yours?", ""], ["Blue.", "Noted."]])
    assert [(e.question, e.answer) for e in thinker.exchanges] == [("My name is Ada.", "Hello Ada."),
                                                                    ("Blue.", "Noted.")]
    assert all(e.turn < 0 for e in thinker.exchanges)  # a new session counts its turns from 0


def test_the_recorder_reports_a_question_once_final_and_its_answer_once_heard():
    from omnirt.runtime.frames import Commit
    from omnirt.runtime.thinker import Exchange

    thinker = ThinkerStage(backend=None)
    thinker.exchanges = exchanges_from([["My name is Ada.", "Hello Ada."]])
    reports = []
    rec = TurnRecorder(thinker, reports.append)
    ada = ("My name is Ada.", "Hello Ada.")  # restored: heard on the lost host
    rec.on_output("asr", Transcript(text="What is my", final=False, turn=1), None, 0, 0)  # a partial: not words
    rec.on_output("asr", Transcript(text="What is my name?", final=True, turn=1), None, 0, 0)
    assert reports == []  # heard, but the user may still go on (a speculative cut)
    rec.on_output("asr", Commit(turn=1, spoken=True), None, 0, 0)
    assert reports == [[ada, ("What is my name?", "")]]  # finished: kept outside the host before the Thinker starts
    thinker.exchanges.append(Exchange(1, "What is my name?", ""))  # the answer starts: nothing new to report
    rec.on_output("thinker", TextDelta(text="Your", turn=1), None, 0, 0)
    thinker.exchanges[-1].answer = "Your name is Ada."
    rec.on_output("thinker", TextDone(text="Your name is Ada.", turn=1), None, 0, 0)
    rec.on_done("thinker", Transcript(text="What is my name?", final=True, turn=1), 0, 0, False)
    assert len(reports) == 1  # made, not yet heard: a host lost now leaves the question to answer again
    thinker.exchanges[-1].answer = "Your name"  # a barge-in: what the user heard
    rec.on_done("asr", Played(turn=1, seconds=0.5, heard="x", cut=True), 0, 0, False)  # another stage: ignored
    assert len(reports) == 1
    rec.on_done("thinker", Played(turn=1, seconds=0.5, heard="Your name", cut=True), 0, 0, False)
    assert reports[-1] == [ada, ("What is my name?", "Your name")]
    assert rec.heard == {} and rec.committed == set()  # the Thinker has that turn now
    rec.on_output("asr", Commit(turn=2, spoken=True), None, 0, 0)  # a Commit with no words heard: nothing
    assert len(reports) == 2
