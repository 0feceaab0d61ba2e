"""omnirt bench reply: its question sets and its refusals (the run itself is exercised in CI's models tests)."""

import pytest

from omnirt.tools.questions import HELD_OUT, QUESTION_SETS, QUESTIONS


def test_the_held_out_questions_are_many_new_and_answerable_in_a_word():
    assert len(HELD_OUT) >= 40 and QUESTION_SETS["held-out"] is HELD_OUT and QUESTION_SETS["tuned"] is QUESTIONS
    norm = lambda t: t.lower().strip(" ?")  # noqa: E731
    assert not {norm(q.text) for q in HELD_OUT} & {norm(q.text) for q in QUESTIONS}
    assert len({norm(q.text) for q in HELD_OUT}) == len(HELD_OUT)
    assert all(q.accept and all(a == a.lower() for a in q.accept) for q in HELD_OUT)


@pytest.mark.parametrize("argv", [["--voice", "robot"], ["--voice", ","], ["--questions", "-1"]])
def test_impossible_settings_are_one_line(argv):
    from omnirt.tools.bench import reply
    from omnirt.tools.cli import build_parser

    args = build_parser(["bench", "reply"]).parse_args(["bench", "reply", *argv])
    with pytest.raises(SystemExit) as e:
        reply.run(args, None)
    assert str(e.value).startswith("omnirt: error: --") and "\n" not in str(e.value)


def _row(correct, answer_right, question_heard):
    return {"correct": correct, "answer_right": answer_right, "question_heard": question_heard}


def test_each_miss_is_put_down_to_one_cause():
    from omnirt.tools.bench.reply import MISS_CAUSES, miss_cause

    assert miss_cause(_row(True, True, False)) is None
    assert miss_cause(_row(False, False, False)) == "question misheard"
    assert miss_cause(_row(False, False, True)) == "wrong answer"
    assert miss_cause(_row(False, True, True)) == miss_cause(_row(False, True, False)) == MISS_CAUSES[2]


def test_a_question_heard_word_for_word_is_one_the_normaliser_makes_equal():
    from omnirt.tools.bench.asr import normalise

    assert normalise("What is 8 plus 5?") == normalise("What is eight plus five?")
    assert normalise("What color is a lemon?") == normalise("What colour is a lemon?")
    assert normalise("What is the capital on Peru?") != normalise("What is the capital of Peru?")
