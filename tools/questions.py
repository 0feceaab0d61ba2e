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

# Questions the Thinker's prompt was never tuned on (written 2026-12-04, measured only): `omnirt bench reply --set
# held-out`, each spoken by one voice in turn. Everyday knowledge a voice assistant is asked; one short answer each.
HELD_OUT: tuple[Question, ...] = (
    Question("What is the capital of Germany?", ("berlin",)),
    Question("What is the capital of Spain?", ("madrid",)),
    Question("What is the capital of England?", ("london",)),
    Question("What is the capital of Canada?", ("ottawa",)),
    Question("What is the capital of Egypt?", ("cairo",)),
    Question("What is the capital of Russia?", ("moscow",)),
    Question("What is four plus four?", ("eight", "8")),
    Question("What is nine minus two?", ("seven", "7")),
    Question("What is three times three?", ("nine", "9")),
    Question("What is twenty divided by two?", ("ten", "10")),
    Question("What is one plus one?", ("two", "2")),
    Question("How many months are there in a year?", ("twelve", "12")),
    Question("How many minutes are there in an hour?", ("sixty", "60")),
    Question("How many seconds are there in a minute?", ("sixty", "60")),
    Question("How many wheels does a bicycle have?", ("two", "2")),
    Question("How many legs does a dog have?", ("four", "4")),
    Question("How many sides does a triangle have?", ("three", "3")),
    Question("How many continents are there?", ("seven", "7")),
    Question("What colour is a banana?", ("yellow",)),
    Question("What colour is grass?", ("green",)),
    Question("What colour is snow?", ("white",)),
    Question("What colour do you get when you mix red and white?", ("pink",)),
    Question("What is the opposite of up?", ("down",)),
    Question("What is the opposite of day?", ("night",)),
    Question("What is the opposite of big?", ("small", "little")),
    Question("What is frozen water called?", ("ice",)),
    Question("What do cows drink?", ("water",)),
    Question("What animal says meow?", ("cat",)),
    Question("What animal barks?", ("dog",)),
    Question("Which animal is known as the king of the jungle?", ("lion",)),
    Question("What is the largest ocean on Earth?", ("pacific",)),
    Question("Which planet is known as the red planet?", ("mars",)),
    Question("What star is at the centre of our solar system?", ("sun",)),
    Question("What do we call the natural satellite of the Earth?", ("moon",)),
    Question("What gas do plants take in from the air?", ("carbon dioxide", "co2")),
    Question("What do you use to write on a blackboard?", ("chalk",)),
    Question("In which season does it usually snow?", ("winter",)),
    Question("What is the first day of the week after Sunday?", ("monday",)),
    Question("What month comes after January?", ("february",)),
    Question("What language is spoken in Brazil?", ("portuguese",)),
    Question("Who wrote Romeo and Juliet?", ("shakespeare",)),
    Question("What is the boiling point of water in Celsius?", ("hundred", "100")),
    Question("What fruit is used to make wine?", ("grape",)),
    Question("What is the tallest animal in the world?", ("giraffe",)),
)
QUESTION_SETS = {"tuned": QUESTIONS, "held-out": HELD_OUT}
