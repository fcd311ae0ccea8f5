"""The folder `tune train` writes and every command reads: the one place its names are spelt (RunDir), and what
it records about the run (RunMeta, tune.json inside the final model folder).

    output_dir/
      config.yaml            the resolved config           metrics.jsonl   one JSON row per log
      loss.png               the loss curve                .tune.lock      held while a run writes
      checkpoint-N/          Trainer checkpoints, complete once tune_complete.json is in them
      model/                 the final model or adapter, tokenizer, tune.json (written last)
      .model.tmp/, model.old/  the two sides of the final save's atomic replace
      eval/                  `tune eval`'s metrics and predictions
A folder `tune export` writes holds tune_export.json.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field, fields

MODEL = "model"
META = "tune.json"
CONFIG = "config.yaml"
METRICS = "metrics.jsonl"
LOSS_PLOT = "loss.png"
LOCK = ".tune.lock"
COMPLETE_MARKER = "tune_complete.json"
EXPORT_MARKER = "tune_export.json"
EVAL = "eval"
CHECKPOINT = re.compile(r"checkpoint-(\d+)")


@dataclass
class RunMeta:
    """What a saved run records about itself (tune.json): enough to reload it without the run's config file."""
    method: str
    template: str
    base_model: str                 # the base's resolved folder (a GGUF file's dequantised copy in tune's cache)
    adapter: bool                   # saved as a peft adapter on that base
    config: dict = field(default_factory=dict)  # the resolved training config
    base_dtype: str | None = None   # the dtype the base checkpoint is stored in (export writes it back)
    precision: str | None = None    # the precision the run trained in (serving uses it)
    added_tokens: list = field(default_factory=list)
    base_gguf: dict | None = None   # the GGUF file this run was given: {file, sha256, file_type}

    @classmethod
    def read(cls, folder: str) -> "RunMeta":
        with open(os.path.join(folder, META), encoding="utf-8") as f:
            return cls.from_dict(json.load(f))

    @classmethod
    def from_dict(cls, d: dict) -> "RunMeta":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def write(self, folder: str) -> None:
        with open(os.path.join(folder, META), "w", encoding="utf-8") as f:
            json.dump(asdict(self), f, indent=1, ensure_ascii=False, default=str)

    def config_value(self, *keys, default=None):
        """A value of the run's config by its keys (("model", "trust_remote_code")), or ``default``."""
        node = self.config
        for key in keys:
            if not isinstance(node, dict) or key not in node:
                return default
            node = node[key]
        return node


class RunDir:
    """Paths inside one run folder."""

    def __init__(self, path: str):
        self.path = path

    def _join(self, name: str) -> str:
        return os.path.join(self.path, name)

    @property
    def model(self) -> str:
        return self._join(MODEL)

    @property
    def model_tmp(self) -> str:
        return self._join(f".{MODEL}.tmp")

    @property
    def model_old(self) -> str:
        return self._join(f"{MODEL}.old")

    @property
    def config(self) -> str:
        return self._join(CONFIG)

    @property
    def metrics(self) -> str:
        return self._join(METRICS)

    @property
    def loss_plot(self) -> str:
        return self._join(LOSS_PLOT)

    @property
    def lock(self) -> str:
        return self._join(LOCK)

    @property
    def eval(self) -> str:
        return self._join(EVAL)

    def checkpoint(self, step: int) -> str:
        return self._join(f"checkpoint-{step}")

    def checkpoints(self) -> list[str]:
        """Its checkpoint-N folders, oldest first (complete or not)."""
        found = [(int(m.group(1)), self._join(n)) for n in (os.listdir(self.path) if os.path.isdir(self.path) else [])
                 if (m := CHECKPOINT.fullmatch(n)) and os.path.isdir(self._join(n))]
        return [p for _, p in sorted(found)]

    def holds_finished_run(self) -> bool:
        return os.path.isdir(self.model)

    def only_start_files(self) -> bool:
        """Nothing but what a start writes before training (the lock, the config)."""
        return set(os.listdir(self.path)) <= {LOCK, CONFIG}

    def recover_final_dir(self) -> bool:
        """Finish a final save cut short between its renames (paths.publish_dir): with no
        ``model/``, a complete ``.model.tmp`` (it holds tune.json, written last) becomes it, else ``model.old``
        does. True if it recovered one."""
        if os.path.exists(self.model):
            return False
        for candidate in (self.model_tmp, self.model_old):
            if os.path.isfile(os.path.join(candidate, META)):
                os.replace(candidate, self.model)
                return True
        return False


def step_of(checkpoint: str | None) -> int:
    """N of a checkpoint-N folder (0 for None)."""
    return int(CHECKPOINT.fullmatch(os.path.basename(os.path.normpath(checkpoint))).group(1)) if checkpoint else 0


def run_meta(cfg, added_tokens=(), base_model: str | None = None, precision: str | None = None) -> RunMeta:
    """The RunMeta of a resolved training config (an OmegaConf DictConfig); ``base_model``: the model's resolved
    folder, ``precision``: the resolved training precision, when the caller has them. ``base_gguf`` is the GGUF
    file this run was given (its absolute path and sha256; the cached folder's own record names whichever file
    first filled it, which may since have moved or gone)."""
    from omegaconf import OmegaConf

    from .methods import get_method
    from .models.gguf import gguf_file_of, gguf_source
    from .models.load import checkpoint_dtype, resolve_model_path

    base = base_model or resolve_model_path(cfg.model)
    source = gguf_source(base)
    given = gguf_file_of(cfg.model.name_or_path) if cfg.model.name_or_path else None
    return RunMeta(method=cfg.method.name, template=cfg.template.name, base_model=base,
                   adapter=get_method(cfg.method.name).ADAPTER, config=OmegaConf.to_container(cfg, resolve=True),
                   base_dtype=checkpoint_dtype(base), precision=precision, added_tokens=list(added_tokens),
                   base_gguf={**source, "file": os.path.abspath(given)} if source and given else None)
