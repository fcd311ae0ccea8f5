"""Instruction modes (Chinese-Vicuna-medical's three ways of turning Q/A pairs into instructions):
none: the question is the whole user turn; fixed: one instruction for every sample; per_sample: one of
several instructions, chosen per sample (seeded by the record's place, so reruns agree).
An instruction containing "{input}" wraps the user's text there; otherwise the text follows it."""
from __future__ import annotations

import random

from ..errors import ConfigError

MODES = ("none", "fixed", "per_sample")


def wrap(instruction: str, text: str) -> str:
    return instruction.replace("{input}", text) if "{input}" in instruction else f"{instruction}\n\n{text}"


def apply_instruction_mode(rows: list[dict], mode: str, instruction: str, instructions: list[str]) -> None:
    """Rewrite the first user turn of each conversation row in place."""
    if mode not in MODES:
        raise ConfigError(f"data.instruction_mode: {mode!r} is not one of {', '.join(MODES)}")
    if mode == "none":
        return
    if mode == "fixed" and not instruction:
        raise ConfigError("data.instruction_mode=fixed needs data.instruction")
    if mode == "per_sample" and not instructions:
        raise ConfigError("data.instruction_mode=per_sample needs data.instructions (a list)")
    for row in rows:
        first = next((m for m in row["messages"] if m["role"] == "user"), None)
        if first is None:
            continue
        chosen = (
            instruction if mode == "fixed" else random.Random(f"{row['source']}:{row['line']}").choice(instructions)
        )
        first["content"] = wrap(chosen, first["content"])
