"""Optional parts of tune and the packages they need: each is an extra of the package (``pip install
'tune[gguf]'``), so a plain install stays small, and a command that needs a missing one says which in one line."""
from __future__ import annotations

import importlib.util

from .errors import ConfigError

# extra -> the import names it provides (pyproject.toml's [project.optional-dependencies] install them)
EXTRAS = {
    "gguf": ("gguf",),                          # GGUF files: train from one, export to one
    "deepspeed": ("deepspeed",),                # deepspeed=zero2|zero3
    "qlora": ("bitsandbytes",),                 # 4/8-bit bases (qlora, P-Tuning on a 4-bit base), 8-bit optimisers
    "eval": ("nltk", "rouge_chinese"),          # tune eval's BLEU-4 and ROUGE
    "prep": ("markdownify", "bs4"),             # data_prep's ShareGPT HTML cleaning
}
BITSANDBYTES = "qlora"  # the extra that brings bitsandbytes (named after its main user; 8-bit optimisers need it too)


def missing(extra: str) -> list[str]:
    return [m for m in EXTRAS[extra] if importlib.util.find_spec(m) is None]


def require(extra: str, what: str) -> None:
    """Raise one line (``what`` names the setting that needs it) when the extra's packages are not installed."""
    lacking = missing(extra)
    if lacking:
        raise ConfigError(f"{what} needs {', '.join(lacking)}, which this install lacks: pip install 'tune[{extra}]'")
