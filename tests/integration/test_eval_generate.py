"""tune eval and tune generate on a trained tiny model, through the CLI."""
import json

import pytest

from tests.conftest import shared
from tests.helpers import run_tune
from tune import compose, train


@pytest.fixture(scope="module")
def trained_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    train(compose("demo", ["trainer.max_steps=40", f"trainer.output_dir={out}", "trainer.report_to=[]"]))
    return out


def test_eval_writes_metrics_and_predictions(trained_dir, tmp_path):
    data = shared("belle_eval/eval_set.json")
    r = run_tune(
        "eval",
        f"checkpoint={trained_dir}",
        f"data.path={data}",
        "data.on_error=skip",
        "eval.limit=6",
        "max_new_tokens=8",
        f"eval.out={tmp_path}",
        timeout=600,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    metrics = json.loads((tmp_path / "eval_metrics.json").read_text())
    for key in ("loss", "perplexity", "rouge-1", "rouge-2", "rouge-l", "bleu-4"):
        assert key in metrics
    assert metrics["examples"] + metrics["data"]["no_labelled_token"] == 631 and metrics["generated"] == 6
    assert metrics["data"]["skipped"] == {"std_answer: empty": 369}
    rows = [json.loads(x) for x in (tmp_path / "predictions.jsonl").read_text().splitlines()]
    assert len(rows) == 6 and all({"reference", "prediction", "messages"} <= set(r) for r in rows)


def test_generate_batch_file(trained_dir, tmp_path):
    inp = tmp_path / "in.jsonl"
    inp.write_text(
        '{"prompt": "What is 3 plus 5?"}\n{"instruction": "天空是什么颜色？", "input": ""}\n'
        '{"messages": [{"role": "user", "content": "What colour is snow?"}]}\n'
    )
    out = tmp_path / "out.jsonl"
    r = run_tune(
        "generate", f"checkpoint={trained_dir}", f"input={inp}", f"out={out}", "max_new_tokens=12", timeout=600
    )
    assert r.returncode == 0, r.stderr[-3000:]
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    # the file's answers, in the input's order, are what the Python API answers for the same conversations
    from tune.data.conversation import Conversation, Message
    from tune.infer.generation import generate_replies
    from tune.infer.load import load_trained

    t = load_trained(str(trained_dir))
    asked = [
        Conversation([Message("user", q)]) for q in ("What is 3 plus 5?", "天空是什么颜色？", "What colour is snow?")
    ]
    assert [x["prediction"] for x in rows] == generate_replies(t.model, t.tokenizer, t.renderer, asked, 12)


def test_chat_multi_turn_reset_exit(trained_dir):
    r = run_tune(
        "chat",
        f"checkpoint={trained_dir}",
        "max_new_tokens=8",
        stdin="What is 2 plus 2?\nAnd 3 more?\n/reset\nHi\n/exit\n",
        timeout=600,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.count("assistant> ") == 3 and "(conversation reset)" in r.stdout


def test_eval_reads_new_records_as_the_run_read_its_own(tmp_path):
    """A run trained on custom field names (data.columns) and a system prompt: `tune eval checkpoint=RUN
    data.path=FILE` maps and prompts the same way without repeating them; a field set on the command line wins."""
    path = tmp_path / "qa.jsonl"
    path.write_text("\n".join(json.dumps({"q": f"Question {i}?", "a": f"Answer {i}."}) for i in range(12)) + "\n")
    run = tmp_path / "run"
    train(
        compose(
            "demo",
            [
                "trainer.max_steps=2",
                f"trainer.output_dir={run}",
                "trainer.report_to=[]",
                f"data.path={path}",
                "data.format=alpaca",
                "data.columns={instruction: q, output: a}",
                "data.system=Answer briefly.",
                "data.val_size=0",
            ],
        )
    )
    out = tmp_path / "eval"
    r = run_tune(
        "eval",
        f"checkpoint={run}",
        f"data.path={path}",
        "eval.limit=2",
        "max_new_tokens=4",
        f"eval.out={out}",
        timeout=600,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert "the run's data settings apply" in r.stderr and "columns=" in r.stderr
    metrics = json.loads((out / "eval_metrics.json").read_text())
    assert metrics["examples"] == 12
    r = run_tune(
        "eval",
        f"checkpoint={run}",
        f"data.path={path}",
        "data.columns={}",
        "eval.limit=1",
        f"eval.out={out}",
        timeout=600,
    )
    assert r.returncode == 2 and "instruction" in r.stderr.strip().splitlines()[-1]  # the command line's columns win
