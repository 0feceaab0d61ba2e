"""omnirt bench answers: the question sets share no question, the check, and its refusals (no model loads)."""

import io

import pytest
from rich.console import Console

from omnirt.tools.bench.answers import right
from omnirt.tools.questions import QUESTION_SETS


def test_every_question_set_is_new_to_the_others_and_answerable_in_a_word():
    norm = lambda t: t.lower().strip(" ?")  # noqa: E731
    seen: set[str] = set()
    for name, questions in QUESTION_SETS.items():
        texts = {norm(q.text) for q in questions}
        assert len(texts) == len(questions), name
        assert not texts & seen, f"{name} repeats a question of another set"
        seen |= texts
        assert all(q.accept and all(a == a.lower() for a in q.accept) for q in questions), name
    assert len(QUESTION_SETS["prompt-dev"]) >= 30 and len(QUESTION_SETS["held-out-2"]) >= 30
    assert len(QUESTION_SETS["held-out-3"]) >= 40 and len(QUESTION_SETS["held-out-4"]) >= 40


def test_an_answer_is_right_when_it_holds_an_accepted_word():
    assert right("The capital of Ireland is Dublin.", ("dublin",))
    assert right("There are 52 weeks.", ("fifty-two", "52"))
    assert not right("A spider gives us wool.", ("sheep",))
    question = "In which season do leaves fall from the trees?"  # an accepted word inside the question
    assert not right("Leaves fall from the trees in spring.", ("autumn", "fall"), question)
    assert right("They fall in the fall.", ("autumn", "fall"), question)
    assert right("In autumn.", ("autumn", "fall"), question)


@pytest.mark.parametrize("content", [None, ""])
def test_an_unreadable_or_empty_prompt_file_is_one_line_and_exit_2(tmp_path, content):
    from omnirt.tools.bench import answers
    from omnirt.tools.cli import build_parser

    prompt = tmp_path / "prompt.txt"
    if content is not None:
        prompt.write_text(content)
    args = build_parser(["bench", "answers"]).parse_args(["bench", "answers", "--system-prompt", str(prompt)])
    out = io.StringIO()
    assert answers.run(args, Console(file=out, width=200)) == 2
    assert out.getvalue().count("\n") == 1 and "--system-prompt" in out.getvalue()
