"""tune: instruction fine-tuning for chat models.

Notebook API, mirroring the CLI::

    from tune import compose, train
    cfg = compose("alpaca_lora", overrides=["model=tiny", "trainer.max_steps=20"])
    result = train(cfg)          # result.output_dir, result.metrics, result.model, result.tokenizer
"""
# The subpackage tune.train is imported before the function train() is defined, so the function keeps the name:
# otherwise the first `import tune.train.x` anywhere (a notebook, train() itself) rebinds tune.train to the package.
from . import train as _train_package  # noqa: F401  (empty __init__: nothing heavy)

__all__ = ["compose", "train", "chat", "export"]
__version__ = "0.1.0"


def compose(recipe=None, overrides=None):
    """The config for a recipe and overrides, as `tune train` composes it (tune.config.compose). Imported on first
    call, so `import tune.methods` alone builds no config schema (a method module added to tune.methods.__path__
    before the first compose is a choice like the others)."""
    from .config import compose as compose_config
    return compose_config(recipe, overrides)


def train(cfg):
    """Run training for a composed config; returns a TrainResult (same job as `tune train`)."""
    from .data.dataset import check_sources
    from .train.run import run_training

    check_sources(cfg.data)  # a missing data file is one line before setup and model loading, as on the CLI
    return run_training(cfg)


def chat(checkpoint: str, messages: list[dict], max_new_tokens: int = 128, temperature: float = 0.0,
         trust_remote_code: bool = False) -> str:
    """One reply to ``messages`` ([{role, content}, ...]) from a trained model, with its training template."""
    from .data.conversation import Conversation
    from .infer.generation import generate_replies
    from .infer.load import load_trained

    trained = load_trained(checkpoint, trust_remote_code=trust_remote_code)
    conv = Conversation.from_dicts(messages)
    return generate_replies(trained.model, trained.tokenizer, trained.renderer, [conv], max_new_tokens, temperature)[0]


def export(checkpoint: str, out: str, trust_remote_code: bool = False, **options) -> str:
    """Merge and save a standalone model (same as `tune export`); ``options`` are the export config's format
    fields (dtype="auto": the base checkpoint's; `tune export --help` lists them all)."""
    from .config.schema import ExportConfig
    from .infer.export import export_model
    return export_model(ExportConfig(checkpoint=checkpoint, out=out, **options), trust_remote_code)
