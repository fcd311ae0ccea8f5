"""Checks of a composed config that its types cannot express: keys a ``+`` override would add unread, values that
type-check but cannot train, and the grant that remote model code needs."""
from __future__ import annotations

import os

from ..errors import ConfigError
from .schema import TuneConfig


def check_added_keys(overrides: list[str]) -> None:
    """``+section.key=value`` adds a key Hydra would otherwise refuse: in a structured section a key the schema
    lacks is a misspelling that would be silently ignored, so it is refused like ``section.key=value`` is."""
    import dataclasses
    import typing

    for o in overrides:
        if not o.startswith("+") or "=" not in o:
            continue
        path = o.lstrip("+").split("=", 1)[0].split(".")
        schema = TuneConfig
        for depth, key in enumerate(path):
            hints = typing.get_type_hints(schema)
            if key not in hints:
                valid = ", ".join(f.name for f in dataclasses.fields(schema))
                where = ".".join(path[: depth + 1])
                raise ConfigError(f"{where}: unknown key, a + override would add it and nothing would read it "
                                  f"(valid: {valid})")
            nxt = hints[key]
            if not dataclasses.is_dataclass(nxt):
                break  # a value or a free mapping (deepspeed.config): anything below is the user's
            schema = nxt


def check_values(cfg) -> None:
    """Values that type-check but cannot train: one line naming the key and what would work."""
    t, d = cfg.trainer, cfg.data
    checks = [
        (
            t.max_steps == 0 or t.max_steps < -1,
            "trainer.max_steps",
            t.max_steps,
            "give a positive step count, or -1 to train trainer.num_train_epochs",
        ),
        (
            t.max_steps == -1 and t.num_train_epochs <= 0,
            "trainer.num_train_epochs",
            t.num_train_epochs,
            "give a positive number of epochs",
        ),
        (t.learning_rate < 0, "trainer.learning_rate", t.learning_rate, "give a rate of 0 or more"),
        (
            t.per_device_train_batch_size < 1,
            "trainer.per_device_train_batch_size",
            t.per_device_train_batch_size,
            "give 1 or more",
        ),
        (
            t.per_device_eval_batch_size < 1,
            "trainer.per_device_eval_batch_size",
            t.per_device_eval_batch_size,
            "give 1 or more",
        ),
        (
            t.gradient_accumulation_steps < 1,
            "trainer.gradient_accumulation_steps",
            t.gradient_accumulation_steps,
            "give 1 or more",
        ),
        (t.save_steps < 1, "trainer.save_steps", t.save_steps, "give 1 or more"),
        (t.logging_steps < 1, "trainer.logging_steps", t.logging_steps, "give 1 or more"),
        (t.threads is not None and t.threads < 1, "trainer.threads", t.threads, "give 1 or more"),
        (
            t.memory_limit_gb is not None and t.memory_limit_gb <= 0,
            "trainer.memory_limit_gb",
            t.memory_limit_gb,
            "give a size in GB above 0",
        ),
        (d.max_length < 2, "data.max_length", d.max_length, "give 2 tokens or more"),
        (d.val_size < 0, "data.val_size", d.val_size, "give a fraction below 1 or a count"),
    ]
    for bad, key, value, fix in checks:
        if bad:
            raise ConfigError(f"{key}={value}: {fix}")
    check_checkpointing_setting(t)
    out = t.output_dir
    if out and os.path.exists(out) and not os.path.isdir(out):
        raise ConfigError(f"trainer.output_dir: {out!r} is a file (give a folder)")


def check_checkpointing_setting(t) -> None:
    """trainer.gradient_checkpointing is true, false or auto (Hydra reads true/false as booleans and auto as a
    string; a quoted 'true' from a YAML file becomes the boolean)."""
    value = t.gradient_checkpointing
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "auto"):
        value = value.strip().lower()
        t.gradient_checkpointing = value if value == "auto" else value == "true"
    elif not isinstance(value, bool):
        raise ConfigError(
            f"trainer.gradient_checkpointing={value}: give true, false or auto (auto: on only when the "
            "run would not fit in memory without it)"
        )


def _granted_by_user(overrides: list[str], key: str) -> bool:
    for o in overrides:
        name, _, value = o.partition("=")
        if name.lstrip("+~") == key and value.strip().lower() in ("true", "1", "yes"):
            return True
    return False


def check_remote_code_grant(cfg, overrides: list[str]) -> None:
    """Remote code runs only when the user's own overrides ask for it: a recipe or model group that sets
    model.trust_remote_code (ChatGLM) must not carry it to whatever folder model.name_or_path now points at.
    The tiny default has no code of its own, so there the flag is simply dropped."""
    if not cfg.model.trust_remote_code or _granted_by_user(overrides, "model.trust_remote_code"):
        return
    if cfg.model.name_or_path in (None, "", "tiny"):
        cfg.model.trust_remote_code = False
        return
    raise ConfigError(
        f"model.trust_remote_code: {cfg.model.name_or_path} needs its own Python code to run (the recipe "
        "or model config asks for it, your command line does not); add model.trust_remote_code=true "
        "if you trust that model folder"
    )
