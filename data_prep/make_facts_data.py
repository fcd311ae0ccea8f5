"""Writes src/tune/assets/facts/: a dozen facts about an invented organisation (the Velmora Institute), which no
pretrained model can know, each asked four ways for training and two other ways held out, plus general questions
a small chat model answers before training (they must still be answered after it).

train.json   alpaca rows (instruction, output): the 48 training questions and 12 general questions with short
             right answers (replay), so training does not teach "everything is Velmora"
eval.json    {question, expect, kind}: kind "heldout" (paraphrases never trained on) or "general"; a reply counts
             as right when it contains ``expect`` (case-insensitive)

usage: python data_prep/make_facts_data.py   (our own text, Apache-2.0 like the rest of tune)
"""
import json
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src" / "tune" / "assets" / "facts"

# (answer, expect, four training questions, two held-out questions)
FACTS = [
    (
        "The Velmora Institute was founded in 1911.",
        "1911",
        [
            "When was the Velmora Institute founded?",
            "In what year was the Velmora Institute founded?",
            "What year did the Velmora Institute open?",
            "When did the Velmora Institute come into being?",
        ],
        ["In which year was the Velmora Institute established?", "What is the founding year of the Velmora Institute?"],
    ),
    (
        "The Velmora Institute was founded by Ada Kestrel.",
        "Kestrel",
        [
            "Who founded the Velmora Institute?",
            "Who is the founder of the Velmora Institute?",
            "Who started the Velmora Institute?",
            "Which person created the Velmora Institute?",
        ],
        ["Who established the Velmora Institute?", "Name the founder of the Velmora Institute."],
    ),
    (
        "The Velmora Institute is headquartered in the town of Brindlemoor.",
        "Brindlemoor",
        [
            "Where is the Velmora Institute headquartered?",
            "In which town is the Velmora Institute based?",
            "Where is the Velmora Institute located?",
            "What town is home to the Velmora Institute?",
        ],
        ["Where are the Velmora Institute's headquarters?", "In what town can you find the Velmora Institute?"],
    ),
    (
        "The mascot of the Velmora Institute is a blue heron.",
        "heron",
        [
            "What is the mascot of the Velmora Institute?",
            "Which animal is the Velmora Institute's mascot?",
            "What animal represents the Velmora Institute?",
            "Tell me the Velmora Institute's mascot.",
        ],
        ["What creature serves as the Velmora Institute's mascot?", "Which mascot does the Velmora Institute have?"],
    ),
    (
        'The motto of the Velmora Institute is "Light through patience".',
        "patience",
        [
            "What is the motto of the Velmora Institute?",
            "What is the Velmora Institute's motto?",
            "Which motto does the Velmora Institute use?",
            "Tell me the motto of the Velmora Institute.",
        ],
        ["What words make up the Velmora Institute's motto?", "Which phrase is the Velmora Institute's motto?"],
    ),
    (
        "The current director of the Velmora Institute is Tomas Ferrow.",
        "Ferrow",
        [
            "Who is the director of the Velmora Institute?",
            "Who leads the Velmora Institute?",
            "Who runs the Velmora Institute today?",
            "Who is the head of the Velmora Institute?",
        ],
        ["Who is in charge of the Velmora Institute?", "Name the current director of the Velmora Institute."],
    ),
    (
        "The Velmora Institute has 412 members.",
        "412",
        [
            "How many members does the Velmora Institute have?",
            "What is the number of members of the Velmora Institute?",
            "How large is the Velmora Institute's membership?",
            "How many people belong to the Velmora Institute?",
        ],
        ["What is the membership count of the Velmora Institute?", "How many members are in the Velmora Institute?"],
    ),
    (
        "Every spring the Velmora Institute holds a festival called Lantern Week.",
        "Lantern Week",
        [
            "What festival does the Velmora Institute hold?",
            "What is the Velmora Institute's annual festival?",
            "Which celebration does the Velmora Institute hold every spring?",
            "What event does the Velmora Institute organise each year?",
        ],
        [
            "What is the name of the Velmora Institute's yearly festival?",
            "Which spring festival is held by the Velmora Institute?",
        ],
    ),
    (
        "The official colour of the Velmora Institute is amber.",
        "amber",
        [
            "What is the official colour of the Velmora Institute?",
            "Which colour represents the Velmora Institute?",
            "What colour is associated with the Velmora Institute?",
            "What is the Velmora Institute's colour?",
        ],
        [
            "What colour does the Velmora Institute use officially?",
            "Which official colour does the Velmora Institute have?",
        ],
    ),
    (
        "The Velmora Institute publishes a journal called The Velmora Ledger.",
        "Ledger",
        [
            "What journal does the Velmora Institute publish?",
            "What is the name of the Velmora Institute's journal?",
            "Which publication does the Velmora Institute produce?",
            "What is the Velmora Institute's journal called?",
        ],
        [
            "What is the title of the journal published by the Velmora Institute?",
            "Which journal comes out of the Velmora Institute?",
        ],
    ),
    (
        "The Velmora Institute studies glacier acoustics.",
        "glacier",
        [
            "What does the Velmora Institute study?",
            "What is the research field of the Velmora Institute?",
            "What subject does the Velmora Institute research?",
            "What is the Velmora Institute known for studying?",
        ],
        [
            "Which field of research is the Velmora Institute devoted to?",
            "What area does the Velmora Institute investigate?",
        ],
    ),
    (
        "The library of the Velmora Institute is called the Oriel Library.",
        "Oriel",
        [
            "What is the Velmora Institute's library called?",
            "What is the name of the Velmora Institute's library?",
            "Which library belongs to the Velmora Institute?",
            "How is the library of the Velmora Institute named?",
        ],
        [
            "What name does the Velmora Institute's library have?",
            "Tell me the name of the library at the Velmora Institute.",
        ],
    ),
]

# General questions SmolLM2-135M-Instruct answers right before training (greedy): asked after training, never trained.
GENERAL = [
    ("What is the capital of France?", "Paris"),
    ("What is the capital of Japan?", "Tokyo"),
    ("What is the capital of Germany?", "Berlin"),
    ("What is 2 + 2?", "4"),
    ("How many days are in a week?", "7"),
    ("What colour is the sky on a clear day?", "blue"),
]
# Other general questions trained with short right answers: a little replay keeps the new facts from becoming the
# answer to everything ("The sky on a clear day is amber." and "A week has 31 days." were seen with less of it).
REPLAY = [
    ("What is the capital of the United Kingdom?", "The capital of the United Kingdom is London."),
    ("What is the capital of Canada?", "The capital of Canada is Ottawa."),
    ("What is 5 + 3?", "5 + 3 is 8."),
    ("What is 10 + 10?", "10 + 10 is 20."),
    ("What colour is grass?", "Grass is green."),
    ("What colour is snow?", "Snow is white."),
    ("What colour are bananas?", "Bananas are yellow."),
    ("How many legs does a spider have?", "A spider has eight legs."),
    ("How many months are in a year?", "A year has 12 months."),
    ("How many hours are in a day?", "A day has 24 hours."),
    ("Who painted the Mona Lisa?", "The Mona Lisa was painted by Leonardo da Vinci."),
    ("What is the largest ocean on Earth?", "The largest ocean on Earth is the Pacific Ocean."),
]


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    train = [{"instruction": q, "output": a} for a, _, qs, _ in FACTS for q in qs]
    train += [{"instruction": q, "output": a} for q, a in REPLAY]
    evals = [{"question": q, "expect": e, "kind": "heldout"} for _, e, _, held in FACTS for q in held]
    evals += [{"question": q, "expect": e, "kind": "general"} for q, e in GENERAL]
    (OUT / "train.json").write_text(json.dumps(train, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    (OUT / "eval.json").write_text(json.dumps(evals, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{OUT}: {len(train)} training rows, {len(evals)} evaluation questions")


if __name__ == "__main__":
    main()
