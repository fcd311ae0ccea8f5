"""Adding an export format is one module: discovered, its fields part of the export config and of `tune export
--help`, written beside the safetensors folder from the one merge."""
import subprocess
import sys

from tune import compose, train


def test_an_export_format_is_one_module(tmp_path):
    run = tmp_path / "run"
    train(compose("demo", ["trainer.max_steps=1", f"trainer.output_dir={run}", "trainer.report_to=[]",
                           "data.cache=false"]))
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "param_count.py").write_text('''"""A dummy export format: the parameter count in a text file."""
from dataclasses import dataclass
from typing import Optional
from tune.exports.base import ExportFormat

@dataclass
class Options:
    param_count: Optional[str] = None   # write the parameter count to this file name inside the export

class ParamCount(ExportFormat):
    name = "param_count"
    Options = Options
    def wanted(self, options):
        return bool(options.param_count)
    def write(self, trained, out, options):
        n = sum(p.numel() for p in trained.model.parameters())
        with open(f"{out}/{options.param_count}", "w") as f:
            f.write(str(n))
        return f"{n} parameters counted"

FORMAT = ParamCount()
''')
    out = tmp_path / "export"
    code = f"""
import sys
import tune.exports
tune.exports.__path__.append({str(plugins)!r})
from tune.cli import main
assert main(["export", "--help"]) == 0
sys.exit(main(["export", "checkpoint={run}", "out={out}", "export.param_count=count.txt"]))
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "export.param_count = None" in r.stdout and "# write the parameter count" in r.stdout
    assert int((out / "count.txt").read_text()) > 0 and (out / "model.safetensors").is_file()
    assert "parameters counted" in r.stderr
