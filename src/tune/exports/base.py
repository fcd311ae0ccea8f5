"""What an export format is: its own fields of the export config and the files it writes from a trained model."""
from __future__ import annotations


class ExportFormat:
    """One output format of `tune export`. A subclass sets ``name`` and ``Options`` (a dataclass: its fields of
    ``export.*``, each with a ``# doc`` comment that `tune export --help` shows) and writes its files."""

    name: str = ""
    Options: type = type(None)
    EXTRA: str | None = None     # the package extra it needs (tune[EXTRA]), checked before anything loads

    def wanted(self, options) -> bool:
        """Whether this export asks for the format (the merged safetensors folder is always written)."""
        return True

    def check(self, meta, options, tokenizer_dir: str | None = None) -> None:
        """Refuse, before the model loads, what the format cannot hold (``meta``: the run's RunMeta;
        ``tokenizer_dir``: the folder the run's tokenizer loads from)."""

    def write(self, trained, out: str, options) -> str:
        """Write the format's files into ``out`` (the export folder being built; the merged model in fp32 is
        ``trained.model``) and return a few words saying what was written, for the closing line."""
        raise NotImplementedError
