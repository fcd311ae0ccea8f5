"""The data config: which records to read, how to read them, and how they become examples. The data layer takes
it typed (a DataConfig, or the composed config's ``data`` section, which OmegaConf types by it), so each
default lives here once."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, List, Optional

from ..choices import Choice, choices
from .formats import FORMATS

if TYPE_CHECKING:  # members made at run time (choices.py); a type checker sees the common base
    DataFormat = Choice
    OnError = Choice
    InstructionMode = Choice
else:
    DataFormat = choices("DataFormat", ["auto", *FORMATS], __name__)
    OnError = choices("OnError", ["raise", "skip"], __name__)
    InstructionMode = choices("InstructionMode", ["none", "fixed", "per_sample"], __name__)


@dataclass
class DataConfig:
    name: Optional[str] = None               # a named dataset (configs/data/NAME.yaml)
    path: Optional[str] = None               # a file, a folder or a glob of .json/.jsonl/.csv/.tsv (.gz too)
    format: DataFormat = (
        DataFormat("auto")
    )  # alpaca | sharegpt | openai | dolly | belle | firefly | qa ... (auto: detected)
    encoding: str = "utf-8"  # the files' text encoding (gb18030 for some Chinese dumps)
    on_error: OnError = OnError("raise")  # raise: stop at the first bad record; skip: count it by reason and go on
    max_length: int = 1024  # tokens per example; longer ones are cut (and counted)
    train_on_prompt: bool = False  # label the prompt tokens too
    mask_history: bool = False  # label only the last assistant turn
    packing: bool = False  # pack examples into rows of max_length (block-diagonal attention)
    cache: bool = True  # reuse the tokenised examples of an identical earlier run
    group_by_length: bool = True  # each optimiser step's examples of similar length (less padding)
    val_size: float = 0.0  # fraction (<1) or count (>=1) held out for eval
    num_proc: int = 1  # processes for tokenisation (used above 1,000 records)
    streaming: bool = False  # read lazily (files larger than memory); needs trainer.max_steps
    system: Optional[str] = None  # replaces every conversation's system prompt
    max_samples: Optional[int] = None  # keep the first N records
    mix: List[Any] = field(default_factory=list)  # [{path, format, weight, encoding, columns}]
    columns: Dict[str, str] = field(
        default_factory=dict
    )  # {instruction: KEY, input: KEY, output: KEY, ...}: rename fields
    ignore_fields: List[str] = field(default_factory=list)  # fields to leave unread (never a reason for auto to refuse)
    instruction_mode: InstructionMode = (
        InstructionMode("none")
    )  # fixed: data.instruction; per_sample: one of data.instructions
    instruction: str = ""  # "{input}" marks where the user's text goes; else it follows
    instructions: List[str] = field(default_factory=list)  # per_sample instruction mode: choices
    license: str = ""  # the dataset's licence (named datasets)
    source: str = ""  # where the dataset comes from (named datasets)
