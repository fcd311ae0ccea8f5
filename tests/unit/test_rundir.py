"""One module spells the run folder's names (tune/rundir.py): no other module of the package writes them as a
string; RunMeta reads back what it wrote, and older tune.json files with fields it no longer has."""
import re
from pathlib import Path

import tune
from tune import rundir
from tune.rundir import RunDir, RunMeta

NAMES = [rundir.META, rundir.CONFIG, rundir.METRICS, rundir.LOSS_PLOT, rundir.LOCK, rundir.COMPLETE_MARKER,
         rundir.EXPORT_MARKER, "checkpoint-", ".model.tmp", "model.old"]


def test_no_other_module_spells_the_run_folders_names():
    root = Path(tune.__file__).parent
    hits = []
    for path in root.rglob("*.py"):
        if path.name == "rundir.py":
            continue
        for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            for name in NAMES:  # a literal that is the name, a glob of it or an f-string building it
                if re.search(r"[\"']" + re.escape(name) + r"[\"'*{]", code):
                    hits.append(f"{path.relative_to(root)}:{line_no}: {name}")
    assert hits == []


def test_run_meta_round_trip_and_old_files(tmp_path):
    meta = RunMeta("lora", "chatml", "/base", True, config={"model": {"trust_remote_code": True}}, precision="bf16")
    meta.write(str(tmp_path))
    back = RunMeta.read(str(tmp_path))
    assert back == meta and back.config_value("model", "trust_remote_code") is True
    assert back.config_value("data", "format", default="auto") == "auto"
    (tmp_path / rundir.META).write_text('{"method": "full", "template": "alpaca", "base_model": "b", "adapter": false,'
                                        ' "a_field_of_an_older_tune": 1}')
    assert RunMeta.read(str(tmp_path)).method == "full"


def test_checkpoints_are_listed_oldest_first(tmp_path):
    for step in (10, 2, 300):
        (tmp_path / f"checkpoint-{step}").mkdir()
    (tmp_path / "checkpoint-x").mkdir()
    assert [Path(p).name for p in RunDir(str(tmp_path)).checkpoints()] == [
        "checkpoint-2",
        "checkpoint-10",
        "checkpoint-300",
    ]
    assert rundir.step_of(RunDir(str(tmp_path)).checkpoint(7)) == 7
