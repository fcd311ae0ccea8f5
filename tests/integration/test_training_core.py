"""The trainer's promises: token-mean loss across accumulation, QLoRA gradients after eval, resume after
SIGKILL, checkpoint completeness, gradient checkpointing, the notebook API, and one-line errors."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from tests.helpers import metrics_rows, run_tune
from tune import compose, train
from tune.errors import ConfigError, DataError

FAST = ["trainer.report_to=[]", "data.max_length=64", "trainer.logging_steps=1"]


def test_loss_is_token_mean_over_the_accumulated_step(tmp_path, tiny_dir):
    """Micro-batches with 3 and ~60 labelled tokens: the update equals one step on the token-mean loss of both."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from tune.loss import causal_lm_loss

    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps({"instruction": "q", "output": "ab"}) + "\n"
                    + json.dumps({"instruction": "q", "output": "word " * 40}) + "\n")
    cfg = compose(
        None,
        [
            "trainer.report_to=[]",
            "data.max_length=256",
            f"data.path={data}",
            "data.format=alpaca",
            "method=full",
            "trainer.max_steps=1",
            "trainer.per_device_train_batch_size=1",
            "trainer.gradient_accumulation_steps=2",
            "trainer.optim=sgd",
            "trainer.learning_rate=1.0",
            "trainer.max_grad_norm=0",
            "trainer.lr_scheduler_type=constant",
            "trainer.weight_decay=0",
            f"trainer.output_dir={tmp_path / 'run'}",
            "trainer.save_steps=1000",
        ],
    )
    result = train(cfg)

    tok = AutoTokenizer.from_pretrained(tiny_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_dir)
    from tune.data.dataset import build_dataset
    from tune.data.templates import get_template

    ds, _ = build_dataset(cfg.data, tok, get_template("alpaca", tok))
    counts = [sum(1 for l in row["labels"][1:] if l != -100) for row in ds]
    assert min(counts) <= 4 and max(counts) >= 10 * min(counts)
    total_sum, total_n = 0.0, 0
    for row in ds:
        ids, labels = torch.tensor([row["input_ids"]]), torch.tensor([row["labels"]])
        out = model(input_ids=ids)
        total_sum = total_sum + causal_lm_loss(out, labels) * sum(1 for l in row["labels"][1:] if l != -100)
        total_n += sum(1 for l in row["labels"][1:] if l != -100)
    (total_sum / total_n).backward()
    trained = result.model.state_dict()
    for name, p in model.named_parameters():
        expected = p.detach() - 1.0 * p.grad
        assert torch.allclose(trained[name], expected, atol=1e-5), name
    # and not the mean of per-batch means
    wrong = (
        sum(causal_lm_loss(model(input_ids=torch.tensor([r["input_ids"]])), torch.tensor([r["labels"]])) for r in ds)
        / 2
    )
    assert abs(float(wrong) - float(total_sum / total_n)) > 1e-3


def test_qlora_first_layer_lora_gradients_after_eval(tmp_path):
    from tune.methods import get_method
    from tune.models.load import load_model

    cfg = compose(None, ["method=qlora"])
    method = get_method("qlora")
    model = load_model(cfg.model, torch_dtype=torch.float32, **method.load_kwargs(cfg.method, torch.float32))
    model = method.apply(model, cfg.method, cfg.trainer)
    ids = torch.randint(5, 200, (2, 16))
    model.eval()
    with torch.no_grad():
        model(input_ids=ids)
    model.train()
    out = model(input_ids=ids, labels=ids)
    out.loss.backward()
    grads = {n: p.grad for n, p in model.named_parameters() if "lora_B" in n and ".layers.0." in n}
    assert grads and all(g is not None and g.abs().sum() > 0 for g in grads.values()), list(grads)


def layer_forwards(monkeypatch) -> list:
    """Each decoder layer's MLP forward calls of the tiny (Llama) model, one entry per call. (The MLP, not the
    layer: transformers checkpoints the layer class's own forward and skips checkpointing when it is replaced.)"""
    from transformers.models.llama import modeling_llama

    calls, forward = [], modeling_llama.LlamaMLP.forward

    def counted(self, *args, **kwargs):
        calls.append(id(self))
        return forward(self, *args, **kwargs)

    monkeypatch.setattr(modeling_llama.LlamaMLP, "forward", counted)
    return calls


@pytest.mark.parametrize("method", ["full", "freeze", "lora", "qlora"])
@pytest.mark.parametrize("checkpointing", [True, False])
def test_gradient_checkpointing_recomputes_each_layer(method, checkpointing, tmp_path, monkeypatch):
    """One optimiser step of one micro-batch: with checkpointing each decoder layer runs forward twice (the
    forward, then its recompute in backward), without it once; the loss is the same either way."""
    calls = layer_forwards(monkeypatch)
    cfg = compose(
        None,
        FAST
        + [
            f"method={method}",
            f"trainer.gradient_checkpointing={str(checkpointing).lower()}",
            "trainer.max_steps=1",
            f"trainer.output_dir={tmp_path}",
            "trainer.save_steps=1000",
            "trainer.memory_limit_gb=1000",
        ],
    )
    result = train(cfg)
    layers = len(set(calls))
    assert layers == 2 and len(calls) == layers * (2 if checkpointing else 1), (len(calls), layers)
    assert result.metrics["train_loss"] > 0


def _train_cmd(out, *extra):
    return [
        sys.executable,
        "-m",
        "tune.train",
        "method=lora",
        "method.target_modules=[all-linear]",
        "trainer.max_steps=12",
        "trainer.save_steps=4",
        "trainer.per_device_train_batch_size=4",
        "trainer.learning_rate=1e-2",
        f"trainer.output_dir={out}",
        *FAST,
        *extra,
    ]


def _final_loss(out):
    rows = metrics_rows(out)
    return [r["loss"] for r in rows if "loss" in r and r["step"] == 12][-1]


@pytest.mark.slow
def test_sigkill_then_resume_matches_uninterrupted(tmp_path):
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    subprocess.run(_train_cmd(straight), check=True, capture_output=True, timeout=600)
    proc = subprocess.Popen(
        _train_cmd(killed, "trainer.save_steps=4"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 300
    marker = killed / "checkpoint-4" / "tune_complete.json"
    while not marker.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert marker.exists(), "no checkpoint before the deadline"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    # a checkpoint cut short by a kill mid-save: resume=auto must skip it
    (killed / "checkpoint-999").mkdir()
    (killed / "checkpoint-999" / "trainer_state.json").write_text("{")
    r = subprocess.run(_train_cmd(killed, "trainer.resume=auto"), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    import re

    step = re.search(r"trainer.resume=auto: resuming \S+ at step (\d+)", r.stderr)
    assert step and int(step.group(1)) in (4, 8), r.stderr[-2000:]  # a complete checkpoint, not the cut-short 999
    assert abs(_final_loss(killed) - _final_loss(straight)) < 1e-4
    assert (killed / "model" / "adapter_model.safetensors").exists()
    assert not (killed / ".model.tmp").exists()


def _run_folder(folder, steps):
    folder.mkdir(parents=True)
    for step, complete in steps:
        d = folder / f"checkpoint-{step}"
        d.mkdir()
        if complete:
            (d / "tune_complete.json").write_text("{}")
    return folder


def test_resume_plans_are_decided_from_paths_alone(tmp_path):
    """auto / a run folder / a checkpoint / false: which folder is written and which checkpoint resumed, with the
    one line that says so; impossible requests refused with one line."""
    from tune.errors import ConfigError
    from tune.train.checkpoints import plan_resume

    run = _run_folder(tmp_path / "outputs" / "demo-20260101-000000", [(2, True), (4, True), (6, False)])
    _run_folder(tmp_path / "outputs" / "demo-20250101-000000", [(8, True)])  # older run
    _run_folder(tmp_path / "outputs" / "demo-20270101-000000", [(2, False)])  # newer, nothing complete
    outputs = str(tmp_path / "outputs")

    p = plan_resume("auto", None, "demo", outputs)
    assert p.output_dir == str(run) and p.checkpoint.endswith("checkpoint-4") and "at step 4" in p.message
    p = plan_resume("auto", str(run), "demo", outputs)
    assert p.checkpoint.endswith("checkpoint-4")
    p = plan_resume("auto", None, "other", outputs)
    assert p.checkpoint is None and p.output_dir is None and "starting fresh" in p.message
    p = plan_resume(str(run), None, "demo", outputs)  # a run folder, not a checkpoint
    assert p.output_dir == str(run) and p.checkpoint.endswith("checkpoint-4")
    p = plan_resume(str(run / "checkpoint-2"), None, "demo", outputs)
    assert p.output_dir == str(run) and p.checkpoint.endswith("checkpoint-2")
    assert plan_resume("false", str(run), "demo", outputs).checkpoint is None
    with pytest.raises(ConfigError, match="not a complete checkpoint"):
        plan_resume(str(run / "checkpoint-6"), None, "demo", outputs)
    with pytest.raises(ConfigError, match="holds no complete checkpoint"):
        plan_resume(str(tmp_path / "outputs" / "demo-20270101-000000"), None, "demo", outputs)
    with pytest.raises(ConfigError, match="not found"):
        plan_resume(str(tmp_path / "nope"), None, "demo", outputs)


def test_notebook_api_twice_no_chdir_no_argv(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["jupyter-kernel", "--weird-flag"])
    cwd = os.getcwd()
    cfg = compose(
        "demo",
        overrides=["model=tiny", "trainer.max_steps=2", f"trainer.output_dir={tmp_path / 'a'}", "trainer.report_to=[]"],
    )
    r1 = train(cfg)
    import tune
    import tune.train.trainer  # noqa: F401  a submodule imported by the user must not rebind tune.train

    cfg2 = compose(
        "demo", overrides=["trainer.max_steps=2", f"trainer.output_dir={tmp_path / 'b'}", "trainer.report_to=[]"]
    )
    r2 = tune.train(cfg2)
    assert os.getcwd() == cwd
    assert r1.output_dir != r2.output_dir and os.path.isdir(r2.model_dir)
    assert "train_loss" in r1.metrics and r1.model is not None and r1.tokenizer is not None
    assert os.path.exists(os.path.join(r1.output_dir, "config.yaml"))


@pytest.mark.parametrize(
    "args,needle",
    [
        (["method=ptuning_v2", "trainer.gradient_checkpointing=true"], "gradient_checkpointing"),
        (["method=nope"], "valid: "),
        (["recipe=nope"], "unknown recipe"),
        (["model.name_or_path=/no/such/model"], "not found"),
        (["trainer.precision=fp16"], "needs a GPU"),
        (["data.path=/no/such.json"], "no such file"),
        (["trainer.use_liger_kernel=true"], "no GPU"),
        (["deepspeed=zero2"], "needs a launcher"),
        (["method=lora", "method.target_modules=[nope_proj]"], "nope_proj not in this model (its linear layers: "),
        (["model.attn_implementation=flash_attention_2"], "GPUs only"),
    ],
)
def test_errors_are_one_line_with_exit_2(args, needle, tmp_path):
    r = run_tune("train", f"trainer.output_dir={tmp_path}", *args, timeout=300)
    assert r.returncode == 2, r.stderr[-1000:]
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("tune: ") and needle in last, last
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize(
    "optim,state_dtype",
    [("adamw_8bit", torch.uint8), ("paged_adamw_8bit", torch.uint8), ("adamw_torch", torch.float32)],
)
def test_8bit_and_paged_optimizers_keep_8bit_state(optim, state_dtype, tmp_path):
    """The optimiser's moments are stored in the dtype the optimiser promises: uint8 for the 8-bit ones (for the
    layers' weights: bitsandbytes keeps tensors under 4096 values in fp32 and transformers keeps embeddings'
    states 32-bit, so full fine-tuning, not LoRA's tiny matrices, is what shows it), never uint8 for AdamW."""
    result = train(
        compose(
            None,
            FAST
            + [
                "method=full",
                f"trainer.optim={optim}",
                "trainer.max_steps=2",
                f"trainer.output_dir={tmp_path}",
                "trainer.save_steps=2",
            ],
        )
    )
    assert result.metrics["train_loss"] > 0
    state = torch.load(tmp_path / "checkpoint-2" / "optimizer.pt", weights_only=False)["state"]
    moments = []
    for s in state.values():
        s = s.get("__bnb_optimizer_quant_state__", s)  # bitsandbytes nests its buffers
        moments += [t for k, t in s.items() if k in ("state1", "state2", "exp_avg", "exp_avg_sq") and t.numel() >= 4096]
    dtypes = {t.dtype for t in moments}
    assert moments and (state_dtype in dtypes if state_dtype == torch.uint8 else dtypes == {torch.float32}), dtypes


def test_streaming_training(tmp_path):
    from tests.conftest import shared

    cfg = compose(
        None,
        FAST
        + [
            "method=lora",
            "data.streaming=true",
            f"data.path={shared('huatuo/llama_data.json')}",
            "data.format=huatuo",
            "trainer.max_steps=4",
            f"trainer.output_dir={tmp_path}",
            "trainer.save_steps=1000",
        ],
    )
    result = train(cfg)
    assert result.metrics["train_loss"] > 0 and os.path.isdir(result.model_dir)
    with pytest.raises(ConfigError, match="data.streaming=true: the length is unknown up front; set trainer.max_steps"):
        train(compose(None, FAST + ["data.streaming=true", "trainer.max_steps=-1", f"trainer.output_dir={tmp_path}/x"]))


def test_packed_training_learns(tmp_path):
    result = train(
        compose(
            None,
            [
                "trainer.report_to=[]",
                "trainer.logging_steps=1",
                "data.max_length=128",
                "data.packing=true",
                "method=full",
                "trainer.learning_rate=3e-3",
                "trainer.max_steps=20",
                f"trainer.output_dir={tmp_path}",
                "trainer.save_steps=1000",
            ],
        )
    )
    rows = metrics_rows(result.output_dir)
    losses = [r["loss"] for r in rows if "loss" in r]
    assert sum(losses[-3:]) / 3 < losses[0] - 1.0, losses


def test_lora_continues_from_an_init_adapter(tmp_path):
    """Chinese-Vicuna-medical continues a trained LoRA: training starts from its weights."""

    first = train(
        compose(
            None,
            FAST
            + [
                "method=lora",
                "trainer.learning_rate=1e-2",
                "trainer.max_steps=5",
                f"trainer.output_dir={tmp_path / 'a'}",
                "trainer.save_steps=1000",
            ],
        )
    )
    cfg = compose(
        None,
        FAST
        + [
            "method=lora",
            f"method.init_adapter={first.model_dir}",
            "trainer.learning_rate=0",
            "trainer.max_steps=2",
            f"trainer.output_dir={tmp_path / 'b'}",
            "trainer.save_steps=1000",
        ],
    )
    second = train(cfg)
    trained_b = {k: v for k, v in second.model.state_dict().items() if "lora_B" in k}
    first_b = {k: v for k, v in first.model.state_dict().items() if "lora_B" in k}
    assert trained_b and all(torch.equal(trained_b[k], first_b[k]) for k in first_b)  # lr 0: unchanged, not zeros
    assert any(v.abs().sum() > 0 for v in trained_b.values())


def test_a_damaged_newest_checkpoint_falls_back_to_the_previous_sound_one(tmp_path):
    from safetensors.torch import save_file

    from tune.train.checkpoints import write_marker
    from tune.train.checkpoints import plan_resume

    run = tmp_path / "run"
    for step in (2, 4, 6):
        d = run / f"checkpoint-{step}"
        d.mkdir(parents=True)
        save_file({"w": torch.ones(300_000)}, str(d / "model.safetensors"))  # over 1 MiB: sized, not hashed
        (d / "trainer_state.json").write_text(json.dumps({"global_step": step}))
        write_marker(str(d), step)
    newest = run / "checkpoint-6" / "model.safetensors"
    data = newest.read_bytes()
    newest.write_bytes(b"\xff" * 8 + data[8:])  # a corrupt header, same size
    (run / "checkpoint-4" / "trainer_state.json").write_text('{"global_step": 5}')  # edited after the save, same size
    p = plan_resume("auto", str(run), "demo")
    assert p.checkpoint.endswith("checkpoint-2")
    lines = p.message.splitlines()
    assert "checkpoint-6 is damaged (model.safetensors: cut short in its header" in lines[0]
    assert "checkpoint-4 is damaged (trainer_state.json: contents changed" in lines[1]
    assert "at step 2" in lines[-1]
    (run / "checkpoint-2" / "model.safetensors").write_bytes(b"short")
    assert plan_resume("auto", str(run), "demo").checkpoint is None


def test_rotation_waits_for_the_new_checkpoint_to_be_complete(tmp_path):
    """save_total_limit=1: a kill after the new checkpoint's files but before its marker still leaves the old
    complete one; once the new one is marked, the old one goes, and so do leftovers of killed saves."""
    from tune.train.checkpoints import rotate_checkpoints, write_marker

    run = tmp_path / "run"
    for step in (2, 4):
        (run / f"checkpoint-{step}").mkdir(parents=True)
        (run / f"checkpoint-{step}" / "model.safetensors").write_bytes(b"x")
    write_marker(str(run / "checkpoint-2"), 2)
    (run / "checkpoint-3").mkdir()  # a save killed long ago
    assert rotate_checkpoints(str(run), 1) == []  # checkpoint-4 has no marker yet: nothing goes
    write_marker(str(run / "checkpoint-4"), 4)
    gone = rotate_checkpoints(str(run), 1)
    assert sorted(p.rsplit("-", 1)[1] for p in gone) == ["2", "3"]
    assert sorted(p.name for p in run.iterdir()) == ["checkpoint-4"]


def test_a_run_keeps_save_total_limit_complete_checkpoints(tmp_path):
    cfg = compose(
        None,
        FAST
        + [
            "trainer.max_steps=6",
            "trainer.save_steps=2",
            "trainer.save_total_limit=2",
            f"trainer.output_dir={tmp_path}",
        ],
    )
    train(cfg)
    assert sorted(p.name for p in tmp_path.glob("checkpoint-*")) == ["checkpoint-4", "checkpoint-6"]
    assert all((p / "tune_complete.json").exists() for p in tmp_path.glob("checkpoint-*"))


def test_one_run_per_folder_and_resume_compares_configs(tmp_path, capsys):
    from tune.errors import ConfigError
    from tune.train.checkpoints import lock_output_dir

    out = tmp_path / "run"
    base = FAST + ["trainer.max_steps=2", "trainer.save_steps=2", f"trainer.output_dir={out}"]
    train(compose(None, base))
    with pytest.raises(ConfigError, match="already holds a finished run"):
        train(compose(None, base))
    with pytest.raises(ConfigError, match="method.name was 'lora' in this run"):
        train(compose(None, [*base, "trainer.max_steps=3", f"trainer.resume={out}", "method=full"]))
    capsys.readouterr()
    train(compose(None, [*base, "trainer.max_steps=3", f"trainer.resume={out}", "trainer.learning_rate=1e-3"]))
    err = capsys.readouterr().err
    assert "resuming with trainer.learning_rate=0.001 (the run had 0.0002)" in err and "at step 2" in err
    busy = tmp_path / "busy"
    held = lock_output_dir(str(busy))
    try:
        with pytest.raises(ConfigError, match="another run is writing"):
            train(compose(None, FAST + ["trainer.max_steps=1", f"trainer.output_dir={busy}"]))
    finally:
        held.close()


def test_a_failed_start_leaves_no_folder(tmp_path):
    """A start that fails after the folder was made (here: data with no usable example) removes it again."""
    out = tmp_path / "never"
    empty = tmp_path / "empty.json"
    empty.write_text("[]")
    with pytest.raises(ConfigError, match="data: no usable example left"):
        train(compose(None, FAST + [f"trainer.output_dir={out}", f"data.path={empty}", "data.format=alpaca"]))
    assert not out.exists()
    with pytest.raises(DataError, match="no such file"):  # found before the folder is made
        train(compose(None, FAST + [f"trainer.output_dir={out}", f"data.path={tmp_path / 'missing.json'}"]))
    assert not out.exists()
