"""tune: instruction fine-tuning for chat models.

Notebook API (mirrors the CLI): ``compose(recipe, overrides)`` gives the config that
``tune train recipe=... overrides...`` would use.
"""
from .config import compose

__all__ = ["compose"]
__version__ = "0.1.0"
