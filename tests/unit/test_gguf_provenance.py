"""A run trained from a GGUF file remembers the file it was given (path and sha256), not whichever identical file
first filled tune's dequantised cache; a cleared cache is rebuilt from that file after checking its hash, and a
file that is gone or changed is one line naming it."""
import json
import os

import pytest

from tune import compose
from tune.rundir import RunMeta, run_meta
from tune.errors import ConfigError
from tune.infer.load import restore_base
from tune.models import gguf
from tune.models.load import describe_source


@pytest.fixture
def two_copies(tmp_path):
    """g1/model.gguf and g2/model.gguf, identical; a cached folder whose record names g1 (it filled the cache)."""
    files = []
    for name in ("g1", "g2"):
        (tmp_path / name).mkdir()
        path = tmp_path / name / "model.gguf"
        path.write_bytes(b"GGUF" + b"\1" * 60)
        files.append(str(path))
    cached = tmp_path / "cache" / "gguf" / "abc"
    cached.mkdir(parents=True)
    (cached / gguf.SOURCE_FILE).write_text(json.dumps({"file": files[0], "sha256": gguf.file_hash(files[0]),
                                                       "file_type": "MOSTLY_Q4_1"}))
    return files, str(cached)


def test_the_run_records_its_own_file(two_copies):
    (g1, g2), cached = two_copies
    meta = run_meta(compose(None, [f"model.name_or_path={g2}"]), base_model=cached)
    assert meta.base_gguf == {"file": g2, "sha256": gguf.file_hash(g2), "file_type": "MOSTLY_Q4_1"}
    assert describe_source(cached, g2).endswith(f"GGUF {g2}")


def test_a_cleared_cache_is_rebuilt_from_the_runs_own_file(two_copies, monkeypatch):
    (g1, g2), cached = two_copies
    built = []
    monkeypatch.setattr(gguf, "dequantized_folder", lambda path, log=None: built.append(path) or cached)
    meta = RunMeta("lora", "chatml", cached + "-cleared", True, base_gguf={"file": g2, "sha256": gguf.file_hash(g2)})
    os.remove(g1)
    restore_base(meta)
    assert built == [g2] and meta.base_model == cached


def test_a_gone_or_changed_file_is_one_line_naming_it(two_copies, monkeypatch):
    (g1, g2), cached = two_copies
    monkeypatch.setattr(gguf, "dequantized_folder", lambda path, log=None: pytest.fail("must not rebuild"))
    meta = RunMeta("lora", "chatml", cached + "-cleared", True, base_gguf={"file": g2, "sha256": gguf.file_hash(g2)})
    with open(g2, "ab") as f:
        f.write(b"another model")
    with pytest.raises(ConfigError, match=f"{g2} is now another file"):
        restore_base(meta)
    os.remove(g2)
    with pytest.raises(ConfigError, match=f"{g2} is gone"):
        restore_base(meta)
