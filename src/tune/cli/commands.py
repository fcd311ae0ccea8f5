"""The commands of `tune`, one registry (COMMANDS): each command's function (Hydra overrides in, exit code out),
its line in `tune --help`, the config sections its --help shows, and its own section (whose fields it takes in
their short spelling: ``tune chat checkpoint=DIR``)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Optional

from ..errors import ConfigError


def compose_cli(overrides: list[str], command: str):
    from ..config.compose import command_overrides, compose_command_line

    spec = COMMANDS[command]
    if spec.serves_trained:
        refuse_template_override(command, overrides)
    return compose_command_line(command_overrides(spec.section, overrides))


def refuse_template_override(command: str, overrides: list[str]) -> None:
    """A trained model is served with the template it was trained with (its tune.json says which): a template=
    given here would be silently ignored, so it is refused instead."""
    for o in overrides:
        if o.lstrip("+").split("=", 1)[0] in ("template", "template.name"):
            raise ConfigError(f"{o}: tune {command} uses the template the run was trained with (it is in the run's "
                              "tune.json); a different one would not match the trained model (drop the override)")


def cmd_preview(overrides: list[str]) -> int:
    from .preview import run_preview
    return run_preview(compose_cli(overrides, "preview"))


def cmd_train(overrides: list[str]) -> int:
    cfg = compose_cli(overrides, "train")  # a config error is one line before torch/transformers load
    from ..data.dataset import check_sources

    check_sources(cfg.data)  # so is a missing data file
    from ..train.run import train_job
    return train_job(cfg)


def cmd_export(overrides: list[str]) -> int:
    from ..infer.export import export_model

    full = compose_cli(overrides, "export")
    print(f"tune: exported {export_model(full.export, full.model.trust_remote_code)}")
    return 0


def cmd_chat(overrides: list[str]) -> int:
    from ..infer.chat import chat_loop
    from ..infer.load import load_trained

    full = compose_cli(overrides, "chat")
    cfg = full.chat
    chat_loop(load_trained(cfg.checkpoint, trust_remote_code=full.model.trust_remote_code), cfg.max_new_tokens,
              cfg.temperature)
    return 0


def cmd_generate(overrides: list[str]) -> int:
    from ..infer.batch import generate_file

    full = compose_cli(overrides, "generate")
    cfg = full.generate
    n = generate_file(cfg, trust_remote_code=full.model.trust_remote_code)
    print(f"tune: wrote {n} replies to {cfg.out}")
    return 0


def cmd_eval(overrides: list[str]) -> int:
    import json
    from ..infer.evaluate import run_eval

    keys = [o.split("=", 1)[0].lstrip("+~") for o in overrides]
    given = {"*"} if "data" in keys else {k[len("data."):] for k in keys if k.startswith("data.")}
    metrics = run_eval(compose_cli(overrides, "eval"), given)
    print(json.dumps({k: v for k, v in metrics.items() if k != "data"}, ensure_ascii=False))
    return 0


def _yaml_comment(group: str, name: str) -> str:
    """The first sentence of the first comment block of configs/GROUP/NAME.yaml (after Hydra's @package line)."""
    from ..paths import config_file

    lines = []
    with open(config_file(group, name), encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") and "@package" not in line:
                lines.append(line.lstrip("# ").strip())
            elif lines:
                break
    return _first_sentence(" ".join(lines))


def _docline(module) -> str:
    return _first_sentence((module.__doc__ or "").strip().split("\n\n")[0])


def _first_sentence(text: str) -> str:
    """Up to the first full stop (not an ellipsis or "e.g"), however many lines it was wrapped over: never cut
    mid-sentence."""
    text = " ".join(text.split())
    end = re.search(r"(?<![.])\.(?![.\w])", text)
    return text[: end.end()] if end else text


def list_items(kind: str) -> list[tuple[str, str]]:
    """(name, one line) for templates, formats, methods, recipes or datasets."""
    import os

    if kind == "templates":
        from ..data.conversation import Conversation
        from ..data.templates import TEMPLATES, get_template

        example = Conversation.from_dicts(
            [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]
        )
        rows = [(n, repr("".join(seg.text for seg in get_template(n).render(example)))) for n in TEMPLATES]
        return rows + [("tokenizer", "the model tokenizer's own chat_template")]
    if kind == "formats":
        from ..data.formats import FORMATS

        return [(n, _docline(m)) for n, m in FORMATS.items()]
    if kind == "methods":
        from ..methods import methods

        return [(n, _first_sentence(m.summary.strip().split("\n\n")[0])) for n, m in methods().items()]
    if kind == "recipes":
        from ..config.schema import group_options

        return [(n, _yaml_comment("recipe", n)) for n in group_options("recipe")]
    if kind == "datasets":
        from ..config.compose import compose
        from ..config.schema import group_options

        rows = []
        for n in group_options("data"):
            d = compose(None, [f"data={n}"]).data
            where = "bundled" if d.path and os.path.exists(d.path) else f"expects {d.path}"
            note = _yaml_comment("data", n)
            rows.append((n, f"format {d.format.value}; {where}" + (f"; {note}" if note else "")))
        return rows
    raise ConfigError(f"tune list {kind}: unknown (valid: templates, formats, methods, recipes, datasets)")


def cmd_list(overrides: list[str]) -> int:
    if len(overrides) != 1:
        raise ConfigError("tune list: say what to list (templates, formats, methods, recipes, datasets)")
    rows = list_items(overrides[0])
    width = max(len(n) for n, _ in rows)
    for name, line in rows:
        print(f"{name.ljust(width)}  {line}")
    return 0


def cmd_recipes(overrides: list[str]) -> int:
    return cmd_list(["recipes"])


@dataclass(frozen=True)
class Command:
    name: str
    run: Callable[[list[str]], int]
    summary: str  # its line in `tune --help`
    reads: tuple[str, ...] = ()  # the config sections (or section.field) its --help shows; () : no --help
    section: Optional[str] = None  # its own config section, whose fields may be spelt short
    serves_trained: bool = False  # serves a trained model with the run's own template (template= refused)


COMMANDS = {
    c.name: c
    for c in [
        Command(
            "preview",
            cmd_preview,
            "tokenise a dataset with a template and show input_ids/labels (JSONL or text)",
            ("model", "data", "template", "preview"),
            "preview",
        ),
        Command(
            "train",
            cmd_train,
            "fine-tune (same as: python -m tune.train ...)",
            ("model", "data", "template", "method", "trainer", "deepspeed.name"),
        ),
        Command(
            "export",
            cmd_export,
            "merge an adapter, save a standalone model, GGUF too (checkpoint=DIR out=DIR [export.gguf=q8_0])",
            ("export", "model.trust_remote_code"),
            "export",
            True,
        ),
        Command(
            "chat",
            cmd_chat,
            "chat with a trained model using its training template (checkpoint=DIR)",
            ("chat", "model.trust_remote_code"),
            "chat",
            True,
        ),
        Command(
            "generate",
            cmd_generate,
            "batch generation from a JSONL file (checkpoint=DIR input=FILE out=FILE)",
            ("generate", "model.trust_remote_code"),
            "generate",
            True,
        ),
        Command(
            "eval",
            cmd_eval,
            "loss, perplexity, ROUGE and BLEU on a dataset (checkpoint=DIR data.path=FILE)",
            ("eval", "data", "model.trust_remote_code"),
            "eval",
            True,
        ),
        Command("list", cmd_list, "templates | formats | methods | recipes | datasets, a line each"),
        Command("recipes", cmd_recipes, "list the recipes (same as: tune list recipes)"),
    ]
}
