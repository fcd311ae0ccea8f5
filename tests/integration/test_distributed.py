"""Two processes on CPU (gloo) under `accelerate launch --multi_gpu`: DDP, ZeRO-2 and ZeRO-3 train, ranks
agree, the saved result reloads in one process, and 2 x micro-batch 2 follows 1 x micro-batch 4."""
import os
import pathlib
import subprocess
import sys

import pytest
import torch

from tests.helpers import metrics_rows

pytestmark = pytest.mark.slow  # several processes per test

DATA = pathlib.Path(__file__).parent.parent / "data"
ACCELERATE = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
              "--main_process_port", "0", "-m", "tune.train"]
COMMON = ["trainer.report_to=[]", "data.max_length=64", "trainer.logging_steps=1", "trainer.save_steps=1000",
          "trainer.per_device_train_batch_size=2", "trainer.lr_scheduler_type=constant"]


# DeepSpeed's CPU accelerator JIT-builds its shared-memory allreduce op whenever it starts (deepspeed/comm/torch.py
# build_shm_op, unconditional); nothing else may compile: CPUAdam (zero3_offload) is minutes of C++.
ALLOWED_OPS = {"deepspeed_shm_comm"}


@pytest.fixture(scope="module")
def extensions(tmp_path_factory):
    """A TORCH_EXTENSIONS_DIR fresh for this module: what the DeepSpeed tests compile lands here, once."""
    return tmp_path_factory.mktemp("torch_extensions")


def compiled_ops(folder) -> set[str]:
    return {p.name for p in folder.iterdir() if p.is_dir()} if folder.exists() else set()


def launch(out, *args, processes=2, extensions=None, timeout=900, **env_extra):
    """``extensions``: the TORCH_EXTENSIONS_DIR the ranks JIT-build into (the test then checks what is there)."""
    cmd = ACCELERATE if processes == 2 else [sys.executable, "-m", "tune.train"]
    default = os.environ.get("TORCH_EXTENSIONS_DIR", os.path.abspath(".cache/torch_extensions"))
    env = dict(os.environ, TORCH_EXTENSIONS_DIR=str(extensions or default),
               **env_extra)
    r = subprocess.run(cmd + COMMON + [f"trainer.output_dir={out}", *args], capture_output=True, text=True,
                       timeout=timeout, env=env)
    assert r.returncode == 0, r.stderr[-4000:]
    return r


def losses(out):
    return [row["loss"] for row in metrics_rows(out, "loss")]


@pytest.mark.parametrize(
    "method,deepspeed",
    [
        ("lora", "none"),
        ("full", "zero2"),
        ("freeze", "zero2"),
        ("lora", "zero3"),
        ("full", "zero3"),
        ("full", "zero3_offload"),
    ],
)
def test_two_processes_train_agree_and_reload(method, deepspeed, tmp_path, extensions):
    from tune.infer.load import load_trained

    # a method's own fields only: another method's field on the command line is refused at start
    extra = (
        ["trainer.learning_rate=1e-2", "method.target_modules=[all-linear]"]
        if method == "lora"
        else ["trainer.learning_rate=3e-3"]
    )
    if deepspeed == "zero3_offload":  # torch's Adam on the offloaded states: DeepSpeedCPUAdam is a C++ JIT compile
        extra.append("+deepspeed.config.zero_force_ds_cpu_optimizer=false")
    r = launch(
        tmp_path / "run",
        f"method={method}",
        f"deepspeed={deepspeed}",
        "trainer.max_steps=15",
        *extra,
        extensions=extensions,
    )
    assert compiled_ops(extensions) <= ALLOWED_OPS, f"the test compiled C++ ops: {compiled_ops(extensions)}"
    tmp_path = tmp_path / "run"
    assert "distributed: world_size=2 backend=gloo" in r.stderr
    if not deepspeed.startswith("zero3"):
        assert "ranks agree" in r.stderr
    curve = losses(tmp_path)
    assert sum(curve[-3:]) / 3 < curve[0] - 0.2, curve
    trained = load_trained(str(tmp_path))  # one process, no DeepSpeed
    with torch.no_grad():
        out = trained.model(input_ids=torch.tensor([[1, 50, 60, 70]])).logits
    assert torch.isfinite(out).all()
    if method != "lora":  # the gathered save is the whole model, not a shard
        n = sum(p.numel() for p in trained.model.parameters())
        assert n > 700_000


@pytest.mark.parametrize("deepspeed", ["none", "zero3"])
def test_two_by_two_matches_one_by_four(deepspeed, tmp_path):
    """The same optimiser steps whatever the split; under ZeRO-3 with the loss's logits in chunks of 4 positions
    (each recomputed in backward through the partitioned lm_head) against one process computing them at once."""
    one, two = tmp_path / "one", tmp_path / "two"
    args = ["method=full", "trainer.max_steps=6", "trainer.learning_rate=3e-3"]
    launch(two, *args, f"deepspeed={deepspeed}", *(["trainer.loss_chunk_tokens=4"] if deepspeed != "none" else []))
    launch(one, *[a for a in args], "trainer.per_device_train_batch_size=4", processes=1)
    a, b = losses(one), losses(two)
    assert len(a) == len(b) == 6
    assert max(abs(x - y) for x, y in zip(a, b)) < 1e-3, (a, b)


def test_zero3_tied_head_in_chunks_on_ranks_with_different_label_counts(tmp_path, smollm2):
    """ZeRO-3 gathers the head's partitioned weights at every call: ranks whose batches label different numbers of
    positions must still call it as often as each other. SmolLM2 (tied embedding) at max_length 512 with logits
    in chunks of 64 positions stopped at once with gloo's "collective mismatch" (or hung, in the recipe
    benchmark); the tiny model's buckets did not show it."""
    launch(tmp_path / "run", f"model.name_or_path={smollm2[1]}", "method=full", "deepspeed=zero3",
           f"data.path={DATA / 'alpaca' / 'alpaca_en_demo.json'}", "data.format=alpaca", "data.max_samples=64",
           "data.max_length=512", "trainer.loss_chunk_tokens=64", "trainer.max_steps=4", "trainer.precision=bf16",
           "trainer.per_device_train_batch_size=4", timeout=300)
    assert len(losses(tmp_path / "run")) == 4


def test_two_processes_build_the_tiny_model_once_and_whole(tmp_path):
    """A fresh cache: both ranks need the tiny model at once; the result must be one complete folder."""
    cache = tmp_path / "cache"
    launch(tmp_path / "run", "method=lora", "trainer.max_steps=2", TUNE_CACHE=str(cache))
    folders = [p for p in cache.iterdir() if p.name.startswith("tiny-")]
    assert len(folders) == 1
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= {p.name for p in folders[0].iterdir()}
