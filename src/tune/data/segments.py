"""What a chat template produces: the rendered text of a conversation as segments, and the interface every
renderer (named templates, the tokenizer's own chat_template) offers to training and inference alike."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .conversation import Conversation


@dataclass(frozen=True)
class Segment:
    text: str
    labelled: bool = False
    literal: bool = False      # user data: control-token strings inside it are plain text
    turn: int = -1             # index of the message it belongs to (-1: template scaffolding)


class Renderer(Protocol):
    """Turns conversations into segments, for one template and one tokenizer."""

    @property
    def name(self) -> str: ...

    def render(self, conv: Conversation, add_generation_prompt: bool = False,
               system: str | None = None) -> list[Segment]: ...

    def render_text(self, conv: Conversation, add_generation_prompt: bool = False,
                    system: str | None = None) -> str: ...

    @property
    def end_of_turn(self) -> str:
        """The labelled text that closes the final assistant turn."""

    @property
    def stop_strings(self) -> list[str]:
        """Strings that end a generated reply."""

    @property
    def control_tokens(self) -> tuple[str, ...]:
        """Strings the template writes that must be single tokens (added to a tokenizer that lacks them)."""

    def fingerprint(self) -> str:
        """Everything that decides this renderer's text, as one string (the tokenised-data cache key holds it):
        a renderer that renders differently must fingerprint differently."""

