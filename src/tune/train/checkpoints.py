"""Checkpoints: the completeness marker (every file with its size and, for small ones, a checksum), rotation
after the new one is complete, which checkpoint to resume from (and which are damaged), and the atomic final
save."""
from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
from dataclasses import dataclass

from ..errors import ConfigError
from ..rundir import CHECKPOINT, COMPLETE_MARKER, RunDir, step_of
from ..models.integrity import safetensors_problem

SMALL_FILE = 1 << 20  # files up to 1 MiB (configs, states, schedulers, rng) get a checksum; big ones a size


def file_record(path: str) -> dict:
    size = os.path.getsize(path)
    rec = {"size": size}
    if size <= SMALL_FILE:
        with open(path, "rb") as f:
            rec["blake2b"] = hashlib.blake2b(f.read(), digest_size=16).hexdigest()
    return rec


def write_marker(folder: str, step: int) -> None:
    files = {}
    for root, _, names in os.walk(folder):
        for name in names:
            if name.startswith(COMPLETE_MARKER):
                continue
            path = os.path.join(root, name)
            files[os.path.relpath(path, folder)] = file_record(path)
    tmp = os.path.join(folder, COMPLETE_MARKER + ".tmp")
    with open(tmp, "w") as f:
        json.dump({"step": step, "files": files}, f, indent=0)
    os.replace(tmp, os.path.join(folder, COMPLETE_MARKER))


def rotate_checkpoints(output_dir: str, limit: int | None) -> list[str]:
    """Keep the newest ``limit`` complete checkpoints; delete older complete ones and the unfinished leftovers of
    killed saves older than the newest complete one. Returns what was deleted. Only checkpoint-N folders."""
    complete = complete_checkpoints(output_dir)
    if not complete:
        return []
    newest = step_of(complete[-1])
    doomed = complete[:-limit] if limit and limit > 0 else []
    for path in RunDir(output_dir).checkpoints():
        if step_of(path) < newest and not os.path.isfile(os.path.join(path, COMPLETE_MARKER)):
            doomed.append(path)
    for path in doomed:
        shutil.rmtree(path, ignore_errors=True)
    return doomed


def complete_checkpoints(output_dir: str) -> list[str]:
    """checkpoint-N folders that were finished (have the marker), oldest first."""
    return [p for p in RunDir(output_dir).checkpoints() if os.path.isfile(os.path.join(p, COMPLETE_MARKER))]


@dataclass
class ResumePlan:
    output_dir: str | None     # where the run writes (None: the caller picks a fresh folder)
    checkpoint: str | None     # the checkpoint-N folder to resume from, or None (a fresh start)
    message: str = ""          # one line for the log


def damage(checkpoint: str) -> str | None:
    """None when the checkpoint matches its marker, else 'FILE: what is wrong'. Every listed file must be there
    with its recorded size (and checksum, for small files), and every safetensors header must parse."""
    try:
        with open(os.path.join(checkpoint, COMPLETE_MARKER), encoding="utf-8") as f:
            marker = json.load(f)
    except (OSError, ValueError) as err:
        return f"{COMPLETE_MARKER}: unreadable ({err})"
    for rel, recorded in (marker.get("files") or {}).items():  # markers before file lists: trusted as before
        path = os.path.join(checkpoint, rel)
        if not os.path.isfile(path):
            return f"{rel}: missing"
        now = file_record(path)
        if now["size"] != recorded.get("size"):
            return f"{rel}: {now['size']} bytes, {recorded.get('size')} when saved"
        if "blake2b" in recorded and now.get("blake2b") != recorded["blake2b"]:
            return f"{rel}: contents changed since it was saved"
        if rel.endswith(".safetensors"):
            problem = safetensors_problem(path)
            if problem:
                return f"{rel}: {problem}"
    return None


def newest_sound(checkpoints: list[str]) -> tuple[str | None, list[str]]:
    """The newest checkpoint that verifies, and one line per newer one that did not."""
    notes = []
    for path in reversed(checkpoints):
        problem = damage(path)
        if problem is None:
            return path, notes
        notes.append(f"tune: {path} is damaged ({problem}); skipped")
    return None, notes


def check_resume(resume: str) -> str:
    """trainer.resume validated before anything loads: 'false', 'auto', or an existing folder."""
    value = str(resume).strip().lower()
    if value in ("false", "none", "no", "0", ""):
        return "false"
    if value == "auto":
        return "auto"
    if not os.path.isdir(resume):
        raise ConfigError(f"trainer.resume: checkpoint folder {resume!r} not found (give auto, false, a run folder "
                          "or one of its checkpoint-N folders)")
    return resume


def is_checkpoint(path: str) -> bool:
    return bool(CHECKPOINT.fullmatch(os.path.basename(os.path.normpath(path))))


def plan_resume(resume: str, output_dir: str | None, run_name: str, outputs: str = "outputs") -> ResumePlan:
    """trainer.resume + trainer.output_dir -> where to write and what to resume, decided before anything loads.

    false: a fresh run. auto: the newest complete checkpoint of output_dir, or (output_dir unset) of the newest
    outputs/<run_name>-* run that has one; none found: a fresh run, said in one line. A checkpoint-N folder: that
    checkpoint (the run writes on into its parent unless output_dir is set). A run folder: its newest complete
    checkpoint."""
    value = check_resume(resume)
    if value == "false":
        return ResumePlan(output_dir, None)
    if value == "auto":
        if output_dir:
            found = complete_checkpoints(output_dir)
            where = output_dir
        else:
            pattern = os.path.join(outputs, f"{glob.escape(run_name)}-*")
            runs = [r for r in sorted(glob.glob(pattern)) if complete_checkpoints(r)]
            output_dir = runs[-1] if runs else None
            found = complete_checkpoints(output_dir) if output_dir else []
            where = os.path.join(outputs, f"{run_name}-*")
        chosen, notes = newest_sound(found)
        if chosen is None:
            return ResumePlan(
                output_dir,
                None,
                "\n".join(notes + [f"tune: trainer.resume=auto: no complete checkpoint in {where}; starting fresh"]),
            )
        return ResumePlan(
            output_dir,
            chosen,
            "\n".join(notes + [f"tune: trainer.resume=auto: resuming {output_dir} at step {step_of(chosen)}"]),
        )
    path = os.path.normpath(value)
    if is_checkpoint(path):
        if not os.path.isfile(os.path.join(path, COMPLETE_MARKER)):
            raise ConfigError(
                f"trainer.resume: {value!r} is not a complete checkpoint (no {COMPLETE_MARKER}: its save "
                "was cut short); give its run folder to take the newest complete one"
            )
        problem = damage(path)
        if problem:
            raise ConfigError(
                f"trainer.resume: {value!r} is damaged ({problem}); give its run folder to take the newest sound one"
            )
        return ResumePlan(output_dir or os.path.dirname(path), path, f"tune: resuming {path} at step {step_of(path)}")
    chosen, notes = newest_sound(complete_checkpoints(path))
    if chosen is None:
        raise ConfigError(
            f"trainer.resume: {value!r} holds no complete checkpoint-N folder (give a run folder "
            "written with trainer.save_steps, one of its checkpoints, auto or false)"
            + (f"; {len(notes)} damaged" if notes else "")
        )
    return ResumePlan(
        output_dir or path,
        chosen,
        "\n".join(notes + [f"tune: resuming run {path} at step {step_of(chosen)} ({chosen})"]),
    )


# -- one run per folder ------------------------------------------------------------------------------------------
# Fields whose change makes a checkpoint unusable: the weights it holds would not fit; the method adds its own
# (Method.UNUSABLE_IF_CHANGED: adapter shapes, which parameters train).
UNUSABLE_IF_CHANGED = ("model.name_or_path", "model.tiny", "method.name", "template.name")


def unusable_if_changed(method_name: str) -> tuple[str, ...]:
    """Every field whose change makes a checkpoint of a run with this method unusable, method.name first."""
    from ..methods import get_method

    return UNUSABLE_IF_CHANGED + tuple(f"method.{f}" for f in get_method(method_name).UNUSABLE_IF_CHANGED)


def holds_a_run(output_dir: str) -> str | None:
    """What shows ``output_dir`` already holds a run (its final model, checkpoints, metrics), or None."""
    if RunDir(output_dir).holds_finished_run():
        return "a finished run (model/)"
    if RunDir(output_dir).checkpoints():
        return "checkpoints"
    metrics = RunDir(output_dir).metrics
    if os.path.isfile(metrics) and os.path.getsize(metrics) > 0:
        return "a run's metrics.jsonl"
    return None


def lock_output_dir(output_dir: str):
    """An exclusive lock on the folder for this process's life (the kernel drops it when the process dies, so a
    SIGKILL leaves nothing stale); a second run into the same folder is refused with one line."""
    import fcntl

    os.makedirs(output_dir, exist_ok=True)
    handle = open(RunDir(output_dir).lock, "a+")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise ConfigError(
            f"trainer.output_dir: another run is writing to {output_dir!r} right now (choose another "
            "trainer.output_dir)"
        ) from None
    return handle


def _flat(node, prefix="") -> dict:
    out = {}
    for k, v in node.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and not key.startswith(("deepspeed.config", "model.tiny")):
            out.update(_flat(v, key + "."))
        else:
            out[key] = v
    return out


def compare_resumed_config(cfg, output_dir: str) -> list[str]:
    """Lines for the fields that differ from the run's saved config.yaml; ConfigError where the checkpoint cannot
    be used with the change (another model, method or adapter shape)."""
    from omegaconf import OmegaConf

    saved_path = RunDir(output_dir).config
    if not os.path.isfile(saved_path):
        return []
    saved = _flat(OmegaConf.to_container(OmegaConf.load(saved_path), resolve=True))
    now = _flat(OmegaConf.to_container(cfg, resolve=True))
    ignored = ("trainer.resume", "trainer.output_dir", "trainer.trust_checkpoint_pickles", "debug")
    changed = [k for k in sorted(set(saved) | set(now)) if k not in ignored and saved.get(k) != now.get(k)]
    saved_method = saved.get("method.name") or now.get("method.name")
    for field in unusable_if_changed(saved_method):  # in this order: method.name before its own fields
        for key in changed:
            if key == field or key.startswith(field + "."):
                raise ConfigError(
                    f"trainer.resume: {key} was {saved.get(key)!r} in this run and is {now.get(key)!r} "
                    "now; its checkpoints do not fit that (resume with the run's value, or start a new run)"
                )
    return [f"tune: resuming with {k}={now.get(k)!r} (the run had {saved.get(k)!r})" for k in changed]
