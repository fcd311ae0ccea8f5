"""The merged model as one GGUF file that llama.cpp, Ollama and LM Studio load (``export.gguf=f16|bf16|q8_0|f32``,
or a llama.cpp k-quant such as ``q4_k_m`` through its ``llama-quantize``), with an Ollama Modelfile beside it.

Written in-process with the gguf package (llama.cpp's own Python library: GGUFWriter, TensorNameMap, its
Q8_0/BF16 quantisers), as llama.cpp's converter writes a ``llama`` or ``qwen2`` model: q and k permuted for
llama.cpp's pair-wise RoPE on ``llama`` (``qwen2`` uses NEOX RoPE, unpermuted), norms and biases kept in F32, a
tied embedding written once (no ``output.weight``), and a Q8_0 tensor whose rows are not a multiple of 32 written
in F16 instead. The tokenizer goes in as exports/gguf_vocab.py builds it, the training chat template as
``tokenizer.chat_template``, the template's end of turn as ``eot_token_id``, and add_bos/add_eos false (tune's
templates write BOS as text: a tokenizer that added one would double it).
"""
from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from ..choices import Choice, choices
from ..errors import ConfigError
from .base import ExportFormat

WRITTEN_HERE = {"f32": "ALL_F32", "f16": "MOSTLY_F16", "bf16": "MOSTLY_BF16", "q8_0": "MOSTLY_Q8_0"}
BY_LLAMA_QUANTIZE = ("q4_0", "q4_1", "q5_0", "q5_1", "q2_k", "q3_k_m", "q4_k_s", "q4_k_m", "q5_k_s", "q5_k_m",
                     "q6_k")
# model_type -> (GGUF architecture, whether q/k are permuted for llama.cpp's pair-wise RoPE)
ARCHITECTURES = {"llama": ("llama", True), "mistral": ("llama", True), "qwen2": ("qwen2", False)}
if TYPE_CHECKING:  # members made at run time (choices.py); a type checker sees the common base
    GGUFType = Choice
else:
    GGUFType = choices("GGUFType", [*WRITTEN_HERE, *BY_LLAMA_QUANTIZE], __name__)


@dataclass
class GGUFOptions:
    gguf: Optional[GGUFType] = None           # also a GGUF file: f16 | bf16 | q8_0 | f32 (q4_k_m ...: with llama.cpp)
    llama_cpp: Optional[str] = None           # llama.cpp's build/bin folder, for llama-quantize (default: PATH)


def gguf_file_name(kind: str) -> str:
    return f"model-{kind}.gguf"


def llama_quantize(options) -> str | None:
    folder = options.llama_cpp
    if folder:
        path = os.path.join(os.path.expanduser(folder), "llama-quantize")
        return path if os.access(path, os.X_OK) else None
    return shutil.which("llama-quantize")


def rope_parameters(config) -> dict:
    """RoPE's settings of a config (a PretrainedConfig or its config.json as a dict): transformers 5 keeps
    rope_theta and any scaling in rope_parameters, 4.x in rope_theta and rope_scaling."""
    get = config.get if isinstance(config, dict) else lambda key: getattr(config, key, None)
    return get("rope_parameters") or get("rope_scaling") or {}


def rope_scaling(config) -> str:
    rope = rope_parameters(config)
    return rope.get("rope_type", rope.get("type", "default"))


def permute(weights, n_head: int):
    """Rows of q (or k) from Hugging Face's half-split RoPE layout to llama.cpp's interleaved one (its
    converter's permute)."""
    return (weights.reshape(n_head, 2, weights.shape[0] // n_head // 2, *weights.shape[1:])
            .swapaxes(1, 2).reshape(weights.shape))


class GGUF(ExportFormat):
    name = "gguf"
    Options = GGUFOptions
    EXTRA = "gguf"

    def wanted(self, options) -> bool:
        return bool(options.gguf)

    def check(self, meta, options, tokenizer_dir: str | None = None) -> None:
        import json

        with open(os.path.join(meta.base_model, "config.json"), encoding="utf-8") as f:
            config = json.load(f)
        model_type = config.get("model_type")
        if model_type not in ARCHITECTURES:
            raise ConfigError(f"export.gguf: a {model_type} model is not written yet (architectures: "
                              f"{', '.join(ARCHITECTURES)})")
        rope_type = rope_scaling(config)
        if rope_type != "default":
            raise ConfigError(f"export.gguf: rope scaling {rope_type!r} is not written yet (plain RoPE is)")
        kind = str(options.gguf)
        if kind in BY_LLAMA_QUANTIZE and llama_quantize(options) is None:
            raise ConfigError(f"export.gguf={kind}: needs llama.cpp's llama-quantize ("
                              + (f"not in export.llama_cpp={options.llama_cpp}" if options.llama_cpp else "not on PATH")
                              + "; build it: cmake -S llama.cpp -B build && cmake --build build --target "
                              "llama-quantize, then export.llama_cpp=build/bin), or choose f16, bf16, q8_0 or f32, "
                              "which tune writes itself")
        remote = bool(meta.config_value("model", "trust_remote_code", default=False))  # load_trained asks first
        if tokenizer_dir and os.path.isdir(tokenizer_dir) and not remote:  # what llama.cpp would tokenise otherwise
            from ..models.gguf import gguf_source
            from ..models.load import load_tokenizer_from
            from .gguf_vocab import check_tokenizer

            source = gguf_source(meta.base_model) if os.path.isdir(meta.base_model) else None
            check_tokenizer(load_tokenizer_from(tokenizer_dir, False), pre=(source or {}).get("pre"))

    def write(self, trained, out: str, options) -> str:
        kind = str(options.gguf)
        path = os.path.join(out, gguf_file_name(kind))
        if kind in WRITTEN_HERE:
            fallbacks = write_gguf(trained, path, kind)
        else:
            f16 = os.path.join(out, ".model-f16.gguf")
            fallbacks = write_gguf(trained, f16, "f16")
            run = subprocess.run([str(llama_quantize(options)), f16, path, kind.upper()], capture_output=True,
                                 text=True)
            os.remove(f16)
            if run.returncode != 0:
                raise ConfigError(f"export.gguf={kind}: llama-quantize failed: "
                                  f"{(run.stderr.strip().splitlines() or ['?'])[-1]}")
        from .ollama import write_modelfile

        modelfile = write_modelfile(trained, out, os.path.basename(path))
        note = f" ({fallbacks} tensors in F16: rows not a multiple of 32)" if fallbacks else ""
        return f"GGUF {kind.upper()} {os.path.basename(path)}{note}; {modelfile}"


def _tensor_data(tensor, kind: str):
    """(numpy data, GGML type) of one tensor in ``kind``: 1-D tensors (norms, biases) stay F32."""
    import gguf
    import numpy as np

    data = tensor.detach().float().cpu().numpy()
    if data.ndim <= 1 or kind == "f32":
        return data.astype(np.float32), gguf.GGMLQuantizationType.F32
    qtype = {"f16": gguf.GGMLQuantizationType.F16, "bf16": gguf.GGMLQuantizationType.BF16,
             "q8_0": gguf.GGMLQuantizationType.Q8_0}[kind]
    try:
        return gguf.quants.quantize(data, qtype), qtype
    except gguf.quants.QuantError:  # Q8_0 blocks are 32 values of a row: F16 for rows that do not divide
        return gguf.quants.quantize(data, gguf.GGMLQuantizationType.F16), gguf.GGMLQuantizationType.F16


def write_gguf(trained, path: str, kind: str) -> int:
    """Write the merged model of ``trained`` (a Trained from infer/load.py) to ``path``; returns how many
    tensors fell back from Q8_0 to F16."""
    import gguf

    from ..models.gguf import gguf_source
    from ..models.vocab import stop_token_ids

    model, tokenizer = trained.model, trained.tokenizer
    config = model.config
    arch_name, permuted = ARCHITECTURES[config.model_type]
    rope = rope_parameters(config)  # plain RoPE: GGUF.check refused any scaling before the model loaded
    n_head, n_kv = config.num_attention_heads, config.num_key_value_heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // n_head
    state = model.state_dict()
    n_vocab = state["model.embed_tokens.weight"].shape[0]
    arch = next(a for a, n in gguf.MODEL_ARCH_NAMES.items() if n == arch_name)
    names = gguf.get_tensor_name_map(arch, config.num_hidden_layers)

    writer = gguf.GGUFWriter(path, arch_name)
    writer.add_type(gguf.GGUFType.MODEL)
    writer.add_name(os.path.basename(os.path.normpath(trained.path)))
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_rope_dimension_count(head_dim)
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_kv)
    writer.add_key_length(head_dim)  # as llama.cpp's converter writes them, whether or not hidden / heads says it
    writer.add_value_length(head_dim)
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    writer.add_rope_freq_base(float(rope.get("rope_theta") or getattr(config, "rope_theta", None) or 10000.0))
    writer.add_vocab_size(n_vocab)
    writer.add_file_type(getattr(gguf.LlamaFileType, WRITTEN_HERE[kind]))
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)

    from .gguf_vocab import gguf_vocab

    source = gguf_source(trained.meta.base_model) or {}
    vocab = gguf_vocab(tokenizer, n_vocab, trained.renderer.control_tokens, pre=source.get("pre"))
    writer.add_tokenizer_model(vocab.model)
    if vocab.pre:
        writer.add_tokenizer_pre(vocab.pre)
    writer.add_token_list(vocab.tokens)
    writer.add_token_types(vocab.types)
    if vocab.merges:
        writer.add_token_merges(vocab.merges)
    if vocab.scores:
        writer.add_token_scores(vocab.scores)
        writer.add_add_space_prefix(vocab.add_space_prefix)
    for setter, token_id in ((writer.add_bos_token_id, tokenizer.bos_token_id),
                             (writer.add_eos_token_id, tokenizer.eos_token_id),
                             (writer.add_pad_token_id, tokenizer.pad_token_id),
                             (writer.add_unk_token_id, tokenizer.unk_token_id)):
        if token_id is not None:
            setter(token_id)
    stops = stop_token_ids(tokenizer, trained.renderer.stop_strings)
    end_of_turn = [i for i in stops if i != tokenizer.eos_token_id]
    if end_of_turn:
        writer.add_eot_token_id(end_of_turn[0])
    writer.add_add_bos_token(False)
    writer.add_add_eos_token(False)
    if tokenizer.chat_template:
        writer.add_chat_template(tokenizer.chat_template)

    fallbacks = 0
    tied = getattr(config, "tie_word_embeddings", False)
    for hf_name, tensor in state.items():
        if hf_name == "lm_head.weight" and tied:
            continue
        name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if name is None:
            raise ConfigError(f"export.gguf: no GGUF name for tensor {hf_name} of this {config.model_type} model")
        if permuted and hf_name.endswith("q_proj.weight"):
            tensor = permute(tensor, n_head)
        elif permuted and hf_name.endswith("k_proj.weight"):
            tensor = permute(tensor, n_kv)
        data, qtype = _tensor_data(tensor, kind)
        fallbacks += kind == "q8_0" and qtype == gguf.GGMLQuantizationType.F16
        writer.add_tensor(name, data, raw_dtype=qtype)  # quantised data comes as bytes; the writer knows its shape
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file(progress=False)
    writer.close()
    return fallbacks


FORMAT = GGUF()
