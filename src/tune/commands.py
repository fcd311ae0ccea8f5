"""The commands of `tune`: each takes Hydra overrides and returns an exit code."""
from __future__ import annotations

from .config import command_overrides, compose_command_line, group_options


def compose_cli(overrides: list[str], command: str | None = None):
    return compose_command_line(command_overrides(command, overrides) if command else overrides)


def cmd_preview(overrides: list[str]) -> int:
    from .preview import run_preview
    return run_preview(compose_cli(overrides))


def cmd_train(overrides: list[str]) -> int:
    from .train.run import train_job
    return train_job(overrides)


def cmd_export(overrides: list[str]) -> int:
    from .errors import ConfigError
    from .infer.export import export_model

    cfg = compose_cli(overrides, "export").export
    if not cfg.out:
        raise ConfigError("out: not set (tune export checkpoint=DIR out=DIR)")
    print(f"tune: exported {export_model(cfg.checkpoint, cfg.out)}")
    return 0


def cmd_chat(overrides: list[str]) -> int:
    from .infer.chat import chat_loop
    from .infer.load import load_trained

    cfg = compose_cli(overrides, "chat").chat
    chat_loop(load_trained(cfg.checkpoint), cfg.max_new_tokens, cfg.temperature)
    return 0


def cmd_generate(overrides: list[str]) -> int:
    from .infer.batch import generate_file

    cfg = compose_cli(overrides, "generate").generate
    n = generate_file(cfg)
    print(f"tune: wrote {n} replies to {cfg.out}")
    return 0


def cmd_eval(overrides: list[str]) -> int:
    import json
    from .infer.evaluate import run_eval

    metrics = run_eval(compose_cli(overrides, "eval"))
    print(json.dumps({k: v for k, v in metrics.items() if k != "data"}, ensure_ascii=False))
    return 0


def cmd_recipes(overrides: list[str]) -> int:
    for name in group_options("recipe"):
        print(name)
    return 0


COMMANDS = {
    "preview": cmd_preview,
    "train": cmd_train,
    "export": cmd_export,
    "chat": cmd_chat,
    "generate": cmd_generate,
    "eval": cmd_eval,
    "recipes": cmd_recipes,
}
