"""A plain `tune train` and `tune export` of the demo print tune's lines and progress bars of real work, nothing
from the libraries underneath (bitsandbytes' kernels note, DeepSpeed's accelerator line, FutureWarnings,
dataset-saving bars); debug=true shows everything."""
import re

from tests.helpers import run_tune

BAR = re.compile(r"(\d+%\|)|(it/s\])|(s/it\])|(examples/s\])|^\s*(\x1b\[A)*\s*$")


def foreign_lines(stderr: str) -> list[str]:
    lines = [l.replace("\x1b[A", "") for chunk in stderr.split("\n") for l in chunk.split("\r")]
    return [l for l in lines if l.strip() and not BAR.search(l) and not l.lstrip().startswith(("tune", "distributed:"))]


def test_train_and_export_print_only_tune_lines(tmp_path):
    run = tmp_path / "run"
    r = run_tune(
        "train",
        "recipe=demo",
        "trainer.max_steps=3",
        "trainer.logging_steps=1",
        f"trainer.output_dir={run}",
        "data.cache=false",
        "trainer.threads=1",
        timeout=600,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert foreign_lines(r.stderr) == [], r.stderr[-3000:]
    assert "threads=1 per process" in r.stderr  # trainer.threads honoured and said
    assert "tune: step 1/3: loss" in r.stderr and "{" not in r.stderr  # readable rows; JSON stays in metrics.jsonl
    assert re.search(r"tune: memory: estimate [\d.]+ GB of [\d.]+ GB available; activation checkpointing off", r.stderr)
    assert re.search(r"tune: step 1/3: .*peak memory [\d.]+ GB", r.stderr)
    # stderr is a pipe here, as in a log file or CI: every tune line is a line of its own, no bar around it
    tune_lines = [line for line in r.stderr.split("\n") if "tune:" in line]
    assert tune_lines and all(
        line.startswith("tune:") and "\r" not in line and "\x1b" not in line for line in tune_lines
    ), tune_lines
    assert "Loading weights" not in r.stderr and "Writing model shards" not in r.stderr
    r = run_tune("export", f"checkpoint={run}", f"out={tmp_path / 'export'}", timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert foreign_lines(r.stderr + r.stdout) == [], r.stderr[-3000:]


def test_a_run_that_cannot_fit_stops_before_its_first_step(tmp_path):
    """trainer.memory_limit_gb below the estimate: one line with the estimate and what fits, exit 2, no run folder."""
    run = tmp_path / "run"
    r = run_tune(
        "train",
        "recipe=demo",
        "trainer.max_steps=1",
        f"trainer.output_dir={run}",
        "trainer.memory_limit_gb=0.05",
        timeout=600,
    )
    assert r.returncode == 2, r.stderr[-2000:]
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("tune: memory: this run needs about") and "trainer.memory_limit_gb" in last, last
    assert "tune: step" not in r.stderr and not run.exists()
