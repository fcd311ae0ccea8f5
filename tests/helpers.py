"""Helpers shared by the tests: what one data preparation ends in, compared between a cache miss and a hit."""
from __future__ import annotations

import json
import os

from tune import compose
from tune.data.prepare import prepare
from tune.data.templates import get_template
from tune.errors import ConfigError, DataError

CACHE_LINE = "read from the cache"


def prepared_outcome(overrides: list[str], tokenizer, cache_dir: str, max_steps: int = 2) -> dict:
    """Everything a user sees of one preparation with the cache in ``cache_dir``: the error line (tune's own
    errors only: anything else propagates and fails the test), the lines printed (the cache-hit notice aside),
    the summary and every row, held-out rows and training rows included."""
    old = os.environ.get("TUNE_DATASETS_CACHE")
    os.environ["TUNE_DATASETS_CACHE"] = cache_dir
    lines: list[str] = []
    try:
        cfg = compose(None, overrides)
        renderer = get_template(cfg.template.name, tokenizer)
        data = prepare(cfg.data, tokenizer, renderer, max_steps=max_steps, log=lines.append)
    except (ConfigError, DataError) as err:
        return {"error": f"{type(err).__name__}: {err}", "lines": lines, "hit": False}
    finally:
        if old is None:
            os.environ.pop("TUNE_DATASETS_CACHE", None)
        else:
            os.environ["TUNE_DATASETS_CACHE"] = old
    streamed = cfg.data.streaming
    return {"error": None, "hit": any(CACHE_LINE in line for line in lines),
            "lines": [line for line in lines if CACHE_LINE not in line],
            "rows": list(data.examples) if streamed else data.examples.to_list(),
            "train": list(data.train) if streamed else data.train.to_list(),
            "eval": data.eval.to_list() if data.eval is not None else None,
            "summary": None if streamed else data.summary.to_dict()}


def same_outcome(miss: dict, hit: dict) -> bool:
    return {k: v for k, v in miss.items() if k != "hit"} == {k: v for k, v in hit.items() if k != "hit"}


def run_tune(*args, cwd=None, env=None, stdin: str | None = None, timeout: int = 600):
    """`python -m tune ARGS` as a user runs it: (returncode, stdout, stderr) in a CompletedProcess."""
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "tune", *args], capture_output=True, text=True, timeout=timeout,
                          cwd=cwd, env=env, input=stdin)


def last_line(stderr: str) -> str:
    return stderr.strip().splitlines()[-1] if stderr.strip() else ""


def jsonl_text(rows) -> str:
    """JSON Lines of ``rows``: each a mapping (serialised) or a line already written (kept as it is, broken or not)."""
    return "".join((row if isinstance(row, str) else json.dumps(row, ensure_ascii=False)) + "\n" for row in rows)


def write_jsonl(path, rows):
    """Write ``rows`` (see jsonl_text) to ``path`` (a pathlib.Path) and return it."""
    path.write_text(jsonl_text(rows), encoding="utf-8")
    return path


def metrics_rows(run_dir, key: str | None = None) -> list[dict]:
    """The rows of a run's metrics.jsonl (only those holding ``key`` when given)."""
    from tune.rundir import RunDir

    with open(RunDir(str(run_dir)).metrics, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [row for row in rows if key is None or key in row]
