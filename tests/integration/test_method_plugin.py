"""Adding a method is one module: discovered, composable without a YAML, listed."""


def test_a_method_is_one_module(tmp_path):
    """A module in a folder the methods package searches, with a Method and its Config, and nothing else: it
    composes (no YAML), trains the tiny model's parameters it chooses, and is listed."""
    import subprocess
    import sys

    (tmp_path / "bias_only.py").write_text('''"""Bias-only tuning: a dummy method for the test."""
from dataclasses import dataclass
from tune.methods.base import Method

@dataclass
class Config:
    name: str = "bias_only"
    scale: int = 3

class BiasOnly(Method):
    Config = Config
    KEEP_FP32_MASTER = True
    def apply(self, model, method_cfg, train_cfg, new_token_ids=()):
        for n, p in model.named_parameters():
            p.requires_grad_(n.endswith("norm.weight"))
        return model

METHOD = BiasOnly()
''')
    code = f"""
import tune.methods
tune.methods.__path__.append({str(tmp_path)!r})
from tune import compose
from tune.cli.commands import list_items
cfg = compose(None, ["method=bias_only", "method.scale=5"])
assert dict(cfg.method) == {{"name": "bias_only", "scale": 5}}, dict(cfg.method)
assert ("bias_only", "Bias-only tuning: a dummy method for the test.") in list_items("methods")
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
