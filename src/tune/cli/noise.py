"""Lines that are not tune's, silenced before the libraries that print them load (``debug=true`` keeps them all):
bitsandbytes' note about the optional `kernels` package, the `kernels` package's own notes (with HF_HUB_OFFLINE it
says it skips a publisher trust check when bitsandbytes asks it for a kernel on CPUs with AVX512-BF16), DeepSpeed's
"Setting accelerator to CPU" on machines without a GPU, transformers' deprecation FutureWarnings about its own
internals, and transformers' "Loading weights" and "Writing model shards" bars (a line of tune's says what loads;
the training bar is tune's). What a user needs (progress bars of real work, metrics, tune's own lines) stays."""
from __future__ import annotations

import logging
import os
import warnings

from ..models.load import LOADING_BARS_OFF

GPU_DEVICE_FILES = ("/dev/nvidiactl", "/dev/nvidia0", "/dev/kfd", "/dev/dxg")


def quiet_libraries(debug: bool) -> None:
    if debug:
        return
    # bitsandbytes logs a warning on import when its optional CPU kernels package is absent; tune does not use it
    logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)
    # `kernels` (pulled in by transformers 5.25+) warns through its own loggers, e.g. kernels._internals.hf_hub
    # in offline mode; the parent logger's level covers every child that leaves its own level unset
    logging.getLogger("kernels").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=r".*is_gradient_checkpointing.*", category=FutureWarning)
    os.environ[LOADING_BARS_OFF] = "1"
    if not any(os.path.exists(f) for f in GPU_DEVICE_FILES):
        # no GPU device here: name DeepSpeed's accelerator so it does not warn while detecting it
        os.environ.setdefault("DS_ACCELERATOR", "cpu")
