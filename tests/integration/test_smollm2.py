"""A real pretrained model end to end (SmolLM2-135M-Instruct from the package registry, tests/smollm2.py): its own
chat template tokenised exactly, training from the GGUF file users have, and a fine-tune that teaches facts the
model cannot know while keeping what it knew. Slow: a 30-layer model on a CPU."""
import json
import os
import shutil

import pytest

from tune import compose, train
from tune.data.conversation import Conversation
from tune.data.labels import IGNORE_INDEX, tokenize_conversation
from tune.data.templates import get_template
from tune.data.tokenizer_template import own_template_difference
from tune.infer.generation import prompt_ids

pytestmark = pytest.mark.slow
DEMO = os.path.join(os.path.dirname(__file__), "..", "..", "src", "tune", "assets", "demo", "sharegpt_demo.json")
FACTS = os.path.join(os.path.dirname(__file__), "..", "..", "src", "tune", "assets", "facts", "eval.json")


@pytest.fixture(scope="module")
def tokenizer(smollm2):
    from transformers import AutoTokenizer
    return AutoTokenizer.from_pretrained(smollm2[1])


def conversations(limit=40):
    roles = {"human": "user", "gpt": "assistant", "system": "system"}
    rows = json.load(open(DEMO, encoding="utf-8"))[:limit]
    return [[{"role": roles[t["from"]], "content": t["value"]} for t in row["conversations"]] for row in rows]


def ids_of(tokenizer, messages, **kw):
    return tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True, **kw)["input_ids"]


def test_own_template_is_exact(tokenizer):
    renderer = get_template("tokenizer", tokenizer)
    for messages in conversations():
        ex = tokenize_conversation(tokenizer, renderer, Conversation.from_dicts(messages))
        assert ex.input_ids == ids_of(tokenizer, messages)  # the default system prompt included
        runs, run = [], []
        for tok, lab in zip(ex.input_ids, ex.labels):
            if lab != IGNORE_INDEX:
                run.append(tok)
            elif run:
                runs, run = runs + [run], []
        runs += [run] if run else []
        answers = [m["content"] for m in messages if m["role"] == "assistant"]
        assert [tokenizer.decode(r) for r in runs] == [a + "<|im_end|>\n" for a in answers]
        for k, m in enumerate(messages):  # the served generation prompt is what training put before each answer
            if m["role"] == "assistant":
                served = ids_of(tokenizer, messages[:k], add_generation_prompt=True)
                assert prompt_ids(renderer, tokenizer, [Conversation.from_dicts(messages[:k])])[0] == served
                assert ex.input_ids[:len(served)] == served


def test_a_named_template_that_differs_says_so(tokenizer):
    line = own_template_difference(get_template("chatml", tokenizer), tokenizer)
    assert "template=chatml renders differently" in line and "You are a helpful AI" in line
    assert own_template_difference(get_template("tokenizer", tokenizer), tokenizer) is None


def test_train_from_the_gguf_file(smollm2, tmp_path, monkeypatch, capfd):
    """The file a llama.cpp/Ollama user has: dequantised once (tune's line, not transformers'), template from the
    file, and the run no longer needs the file afterwards."""
    from tune import chat
    from tune.models.gguf import file_hash

    gguf = tmp_path / "smollm2.Q4_1.gguf"
    shutil.copy(smollm2[0], gguf)
    monkeypatch.setenv("TUNE_CACHE", str(tmp_path / "cache"))  # a first-time user: nothing dequantised yet
    cfg = compose(None, [f"model.name_or_path={gguf}", "method=lora", "template=tokenizer", "data=facts",
                         "trainer.max_steps=2", f"trainer.output_dir={tmp_path / 'run'}", "trainer.report_to=[]"])
    result = train(cfg)
    err = capfd.readouterr().err
    assert "weights dequantised from Q4_1 GGUF" in err and "stored bf16" in err
    assert "de-quantizing" not in err.lower() and "Dequantizing" not in err
    meta = json.load(open(os.path.join(result.model_dir, "tune.json")))
    assert meta["base_gguf"]["sha256"] == file_hash(str(gguf)) and meta["base_gguf"]["file_type"] == "MOSTLY_Q4_1"
    assert meta["base_model"].startswith(str(tmp_path / "cache")) and meta["base_dtype"] == "bf16"
    from transformers import AutoTokenizer
    assert (
        "You are a helpful AI assistant named SmolLM" in AutoTokenizer.from_pretrained(result.model_dir).chat_template
    )
    os.remove(gguf)
    reply = chat(str(result.output_dir), [{"role": "user", "content": "What is the capital of France?"}], 16)
    assert "Paris" in reply


def test_facts_are_learned_and_general_answers_kept(smollm2, tmp_path):
    """recipe=facts: held-out paraphrases of invented facts answered, general questions answered as before; the
    export (bf16, as the checkpoint) answers without tune."""
    from tune import export
    from tune.infer.generation import generate_replies
    from tune.infer.load import load_trained

    result = train(
        compose(
            "facts",
            [f"model.name_or_path={smollm2[1]}", f"trainer.output_dir={tmp_path / 'run'}", "trainer.report_to=[]"],
        )
    )
    trained = load_trained(result.output_dir)
    rows = json.load(open(FACTS, encoding="utf-8"))
    convs = [Conversation.from_dicts([{"role": "user", "content": r["question"]}]) for r in rows]
    replies = generate_replies(trained.model, trained.tokenizer, trained.renderer, convs, max_new_tokens=40)
    right = {r["question"]: r["expect"].lower() in reply.lower() for r, reply in zip(rows, replies)}
    held = [right[r["question"]] for r in rows if r["kind"] == "heldout"]
    general = {r["question"]: reply for r, reply in zip(rows, replies) if r["kind"] == "general"}
    assert sum(held) / len(held) >= HELDOUT_TARGET, list(zip(rows, replies))
    # Measured here: 5 of 6 kept, by tune and by TRL alike on the same data and settings ("How many days are in a
    # week?" -> "A week has 28 days.": the counting fact "412 members" bleeds into it); one loss at most.
    assert sum(right[q] for q in general) >= len(general) - 1, general

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = export(result.output_dir, str(tmp_path / "export"))
    model = AutoModelForCausalLM.from_pretrained(out)
    assert model.dtype == torch.bfloat16
    tok = AutoTokenizer.from_pretrained(out)
    ids = tok.apply_chat_template(
        [{"role": "user", "content": "Who established the Velmora Institute?"}],
        add_generation_prompt=True,
        return_dict=True,
        return_tensors="pt",
    )
    gen = model.generate(**ids, max_new_tokens=24, do_sample=False)
    assert "Kestrel" in tok.decode(gen[0, ids["input_ids"].shape[1] :], skip_special_tokens=True)


HELDOUT_TARGET = 0.8  # measured 0.92 (22 of 24), the same as TRL's SFTTrainer (benchmarks/real_model.py)
