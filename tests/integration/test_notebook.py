"""examples/quickstart.ipynb runs top to bottom, so it never rots."""
import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import REPO


@pytest.mark.slow
def test_quickstart_notebook_runs(tmp_path):
    nb = nbformat.read(REPO / "examples" / "quickstart.ipynb", as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "### Instruction:" in outputs  # the exported tokenizer carries the training template
    assert (tmp_path / "outputs" / "notebook-demo" / "model" / "tune.json").exists()
