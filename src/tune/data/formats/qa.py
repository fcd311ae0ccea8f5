"""Question/answer records: cMedQA2 as data_prep/cmedqa2.py writes it ({question, answer, question_id,
ans_id}), BELLE's eval set ({question, std_answer, class}), the Chinese medical dialogue CSVs
({department, title, ask, answer}: the ask is the question; an empty ask falls back to the title), and
ChatGLM's ADGEN ({content, summary})."""
from __future__ import annotations

from ..conversation import Conversation, InvalidConversation, Message, normalise
from ._fields import text_field

FIELDS = {"question", "content", "ask", "title", "answer", "std_answer", "summary", "department"}

ANSWER_KEYS = ("answer", "std_answer", "summary")


def to_conversation(record: dict) -> Conversation:
    if "question" in record:
        question = text_field(record, "question")
    elif "content" in record:
        question = text_field(record, "content")
    else:
        question = text_field(record, "ask", required=False) or text_field(record, "title")
    key = next((k for k in ANSWER_KEYS if k in record), "answer")
    answer = text_field(record, key)
    if not answer.strip():
        raise InvalidConversation(key, "empty")
    if not question.strip():
        raise InvalidConversation("question", "empty")
    return normalise([Message("user", question), Message("assistant", answer)])


def detect(record: dict) -> bool:
    has_q = "question" in record or "ask" in record or "content" in record
    return has_q and any(k in record for k in ANSWER_KEYS)
