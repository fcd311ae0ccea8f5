"""The one compose function the CLI, ``python -m tune.train`` and the notebook API all use: Hydra composes the
config groups over the schema (config/schema.py), then the checks run and ``method`` is narrowed to the chosen
method's own Config."""
from __future__ import annotations

import os
import sys
from dataclasses import fields, is_dataclass
from typing import Optional, get_type_hints

from ..distributed import is_main_process
from ..errors import ConfigError
from ..methods import get_method, method_fields, methods
from ..paths import asset_path, config_dir, config_file
from .checks import check_added_keys, check_remote_code_grant, check_values
from .explain import did_you_mean, explain
from .schema import MethodConfig, TuneConfig, group_options


def _register() -> None:
    from hydra.core.config_store import ConfigStore
    from omegaconf import OmegaConf

    store = ConfigStore.instance()
    store.store(name="tune_schema", node=TuneConfig)
    for name, method in methods().items():
        if not os.path.isfile(config_file("method", name)):
            store.store(group="method", name=name, node={"name": name})
    if not OmegaConf.has_resolver("tune_asset"):
        OmegaConf.register_new_resolver("tune_asset", asset_path)


def compose(recipe: Optional[str] = None, overrides: Optional[list[str]] = None):
    """The resolved config (an OmegaConf DictConfig typed by TuneConfig) for a recipe and overrides.

    Same as the command line ``recipe=NAME override ...``; touches neither sys.argv nor the cwd.
    """
    from hydra import compose as hydra_compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    _register()
    overrides = list(overrides or [])
    chosen = recipe or _choice(overrides, "recipe")
    if chosen and chosen not in group_options("recipe"):
        options = group_options("recipe")
        raise ConfigError(
            f"recipe={chosen}: unknown recipe ({did_you_mean(chosen, options)}valid: {', '.join(options)})"
        )
    if recipe:
        overrides = [f"recipe={recipe}"] + overrides
    overrides = open_free_maps(overrides)
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=config_dir(), version_base="1.3", job_name="tune"):
            cfg = hydra_compose(config_name="config", overrides=overrides)
    except Exception as err:  # Hydra raises several types; all become one line
        raise explain(err, overrides) from None
    finally:
        GlobalHydra.instance().clear()
    OmegaConf.set_readonly(cfg, False)
    check_added_keys(overrides)
    check_values(cfg)
    check_remote_code_grant(cfg, overrides)
    return narrow_method(cfg, overrides, _recipe_method_keys(recipe or _choice(overrides, "recipe")))


# Mappings whose keys are the user's (data.columns: canonical field -> the record's key). Hydra's struct mode
# refuses a new key in them unless spelt +data.columns.KEY=...; the documented spellings are rewritten to that.
FREE_MAPS = ("data.columns",)


def open_free_maps(overrides: list[str]) -> list[str]:
    """``data.columns={instruction: q, output: a}`` and ``data.columns.instruction=q`` as Hydra needs them:
    ``+data.columns.instruction=q`` each (a whole mapping also clears the keys set before it)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    out = []
    for o in overrides:
        key, eq, value = o.partition("=")
        bare = key.lstrip("+~")
        prefix = next((m for m in FREE_MAPS if bare == m or bare.startswith(m + ".")), None)
        if not eq or prefix is None or key.startswith("~"):
            out.append(o)
        elif bare == prefix:
            try:
                mapping = OverridesParser.create().parse_override(f"{prefix}={value}").value()
            except Exception:  # Hydra's grammar errors: the same answer as a value that parses but is no mapping
                mapping = None
            if not isinstance(mapping, dict):
                raise ConfigError(f"{o}: not a mapping (write {prefix}={{instruction: KEY, output: KEY}})")
            out.append(f"{prefix}={{}}")
            out += [f"+{prefix}.{k}={v}" for k, v in mapping.items()]
        else:
            out.append(f"+{bare}={value}")
    return out


def _choice(overrides: list[str], group: str) -> Optional[str]:
    return next((o.split("=", 1)[1] for o in overrides if o.startswith(f"{group}=")), None)


def _recipe_method_keys(recipe: Optional[str]) -> set[str]:
    """The method fields a recipe sets (for the method it names)."""
    if not recipe:
        return set()
    from omegaconf import OmegaConf

    node = OmegaConf.load(config_file("recipe", recipe)).get("method") or {}
    return {k for k in node if k != "name"}


def narrow_method(cfg, overrides: list[str], recipe_keys: set[str] = frozenset(), log=None):
    """The config with ``method`` narrowed to the chosen method's own structured config.

    Composition merges every method's fields into one loose schema, whose defaults are whichever method declared
    a field first; here each field the chosen method has takes the value someone set (the method's YAML, the
    recipe, the command line) or else the method's own default, so a method's Config decides its defaults.
    A field of another method set by the user's overrides is an error naming the method's fields; one a recipe
    set for the method it names (``recipe=huatuo method=full``: its LoRA fields) is dropped with one line."""
    import dataclasses

    from omegaconf import OmegaConf

    name = cfg.method.name  # a valid one: method.name is typed by MethodName
    method = get_method(name)
    own = method_fields(name)
    explicit = {
        o.lstrip("+").split("=", 1)[0].split(".", 1)[1]
        for o in overrides
        if o.lstrip("+").startswith("method.") and "=" in o
    }
    foreign = sorted(explicit - set(own))
    if foreign:
        raise ConfigError(
            f"method.{foreign[0]}: method={name} has no such field (its fields: {', '.join(own[1:]) or 'none'})"
        )
    loose = {
        f.name: (f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default)
        for f in fields(MethodConfig)
    }
    values = OmegaConf.to_container(cfg.method, resolve=True)
    dropped = sorted(k for k, v in values.items() if k not in own and (v != loose[k] or k in recipe_keys))
    if dropped:
        (log or _stderr)(
            f"tune: method={name} has no {', '.join('method.' + k for k in dropped)} "
            f"(set for another method by the recipe): dropped"
        )
    set_keys = explicit | set(recipe_keys) | _yaml_keys("method", name)
    mine = {k: values[k] for k in own if k in set_keys or values[k] != loose[k]}
    container = OmegaConf.to_container(cfg, resolve=False)
    narrowed_method = method.Config(**mine)
    method.check_values(narrowed_method)
    container["method"] = OmegaConf.structured(narrowed_method)
    narrowed = OmegaConf.create(container, flags={"allow_objects": False})
    OmegaConf.set_struct(narrowed, True)
    return narrowed


def _yaml_keys(group: str, option: str) -> set[str]:
    """The keys configs/GROUP/OPTION.yaml sets (none when there is no such file)."""
    from omegaconf import OmegaConf

    path = config_file(group, option)
    return set(OmegaConf.load(path).keys()) if os.path.isfile(path) else set()


def _stderr(msg: str) -> None:
    if is_main_process():
        print(msg, file=sys.stderr)


def command_overrides(section: Optional[str], overrides: list[str]) -> list[str]:
    """A command's own section may keep its short top-level spelling: ``tune chat checkpoint=DIR`` is
    ``chat.checkpoint=DIR`` (``section``: the command's own config section; a name that is none leaves the
    overrides as they are)."""
    schema = get_type_hints(TuneConfig).get(section) if section else None
    if not is_dataclass(schema):
        return list(overrides)
    names = {f.name for f in fields(schema)}
    return [f"{section}.{o}" if "=" in o and o.split("=", 1)[0] in names else o for o in overrides]


def compose_command_line(overrides: list[str]):
    """compose() from command-line words: ``recipe=NAME`` picks the preset, the rest are overrides."""
    return compose(_choice(overrides, "recipe"), [o for o in overrides if not o.startswith("recipe=")])
