"""Spoken questions with known answers: the project's end-to-end test and benchmark set.

Each answer is checked by transcribing the reply audio back with the project's own ASR and looking for any of the
accepted words (numbers may come back as digits or words).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Question:
    text: str
    accept: tuple[str, ...]  # any of these (lower case) in the transcribed answer counts as right


QUESTIONS: tuple[Question, ...] = (
    Question("What is the capital of France?", ("paris",)),
    Question("What is two plus three?", ("five", "5")),
    Question("What colour is the sky on a clear day?", ("blue",)),
    Question("How many days are there in a week?", ("seven", "7")),
    Question("What is the capital of Japan?", ("tokyo",)),
    Question("How many legs does a spider have?", ("eight", "8")),
    Question("What is the opposite of hot?", ("cold",)),
    Question("What is ten minus four?", ("six", "6")),
    Question("What is the largest planet in our solar system?", ("jupiter",)),
    Question("What do bees make?", ("honey",)),
    Question("What is the capital of Italy?", ("rome",)),
    Question("How many hours are there in a day?", ("twenty-four", "twenty four", "24")),
)
