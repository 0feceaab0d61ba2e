"""Words said a second into a reply: a request of their own, or the rest of the one before the pause?

A speaker who pauses twice ("What is the exchange rate between | the dollar and | the euro?") may have heard a
second of the answer to the first part before they go on. Then the audio cannot tell: "the euro" goes on the
request, "What is two plus three?" is a new one (VADOptions.rejoin_words_ms; runtime/backchannel.py judges it).
English marks a new request at its start: a question word, an auxiliary before its subject ("can you", "is
it"), or a word that asks the assistant to stop or listen ("wait", "no", "sorry", "tell me"). A continuation
starts with what the pause cut off: a noun phrase, a preposition, a verb without its subject ("will be like on
Saturday", "has no eggs"). So a fragment goes on; anything that starts as a request stands alone.

Mistakes cost unequally. A new request taken for a fragment is answered together with the turn before it, whose
answer the user had begun to hear; a fragment taken for a new request is what happened before this check: the
request is cut off at the pause. The word lists lean to "new request" wherever a start is ambiguous.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")

QUESTION_WORDS = frozenset("""
    what what's whats who who's whom whose where where's when when's why how how's which
""".split())
# Auxiliaries and modals start a question when their subject follows ("is it", "can you", "does the shop").
AUXILIARIES = frozenset("""
    am is are was were do does did have has had can could will would shall should may might must
    isn't aren't wasn't don't doesn't didn't haven't hasn't can't couldn't won't wouldn't shouldn't
""".split())
SUBJECTS = frozenset("""
    i you we they he she it there that this these those the a an my your our his her their its
    someone anyone anybody somebody everyone people
""".split())
# Words that ask the assistant to stop, wait, repeat or listen: a turn of its own wherever it comes.
NEW_TURN_WORDS = frozenset("""
    please tell stop wait no nope sorry actually hey hang hold cancel repeat pardon excuse thanks thank
    never forget hello hi
""".split())
LET = frozenset({"let", "let's", "lets"})
PREPOSITIONS = frozenset("at in on for from to with by of about".split())  # "At what temperature ...?"
FILLERS = frozenset("um uh er erm ah oh well so okay ok".split())
JOINERS = frozenset("and but or also".split())  # "and what about Spain?": a new question all the same


def words(text: str) -> list[str]:
    """Lower-case words, an apostrophe's ending kept ("what's", "can't")."""
    return _WORD.findall(text.lower().replace("\u2019", "'"))


def _without_fillers(text: str) -> list[str]:
    ws = words(text)
    while ws and ws[0] in FILLERS:
        ws = ws[1:]
    return ws


def continues(text: str) -> bool:
    """Do these words read as the rest of a request cut off at a pause: words beyond a filler ("so", "um": they
    add nothing to go on with) that do not start a request of their own?"""
    return bool(_without_fillers(text)) and not starts_request(text)


def starts_request(text: str) -> bool:
    """Do these words start a request of their own (True), or read as the rest of one cut off at a pause
    (False)? No words: False (nothing to stand alone)."""
    ws = _without_fillers(text)
    if len(ws) > 1 and ws[0] in JOINERS:
        ws = ws[1:]
    if not ws:
        return False
    first, second = ws[0], ws[1] if len(ws) > 1 else ""
    if first in QUESTION_WORDS or first in NEW_TURN_WORDS or (first in PREPOSITIONS and second in QUESTION_WORDS):
        return True
    if first in LET:
        return first != "let" or second in {"me", "us"}
    return first in AUXILIARIES and second in SUBJECTS
