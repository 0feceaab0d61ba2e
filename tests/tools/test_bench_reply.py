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
