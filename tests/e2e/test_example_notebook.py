"""examples/picking.ipynb runs top to bottom in a real Jupyter kernel (this venv's python)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "picking.ipynb"
CELL_TIMEOUT = 60


def test_the_example_notebook_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import nbformat
    from nbclient import NotebookClient

    # A python3 kernelspec that runs this interpreter, found before any user-wide one.
    spec = tmp_path / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "Python 3 (test)", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel), encoding="utf-8")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))

    notebook = nbformat.read(EXAMPLE, as_version=4)
    assert all(not c.get("outputs") for c in notebook.cells if c.cell_type == "code"), (
        "commit the example without outputs"
    )
    notebook.cells.append(nbformat.v4.new_code_cell("import sys; print(sys.executable)"))
    client = NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=CELL_TIMEOUT,
        startup_timeout=60,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()  # raises CellExecutionError, naming the cell, if any cell fails

    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert code[-1].outputs[0]["text"].strip() == sys.executable

    def html_of(cell: dict[str, object]) -> str:
        outputs = cell["outputs"]
        assert isinstance(outputs, list)
        return "".join(
            str(o["data"]["text/html"]) for o in outputs if "text/html" in o.get("data", {})
        )

    source = [c.source for c in code]
    shown = html_of(code[next(i for i, s in enumerate(source) if s.endswith("\nsession"))])
    assert 'class="picker-session"' in shown and 'class="picker-qr"' in shown
    grid = html_of(code[next(i for i, s in enumerate(source) if s.endswith("\ngrid"))])
    assert grid.count('src="data:image/') == 6
    picked = html_of(code[next(i for i, s in enumerate(source) if "result = pick(" in s)])
    assert picked.count('src="data:image/') == 4
    assert not any(o.get("output_type") == "error" for c in code for o in c.outputs)
