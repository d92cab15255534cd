"""notebooks/walkthrough.ipynb: generated from make_walkthrough.py, and runs offline top to bottom.

The notebook is executed with nbclient in a kernel that runs this interpreter (`sys.executable`), over
IPC (Unix domain sockets), so no TCP socket is opened: pytest-socket stays on.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from traitlets.config import Config

from conftest import ROOT, SHARED_DATA

NOTEBOOKS = ROOT / "notebooks"
NOTEBOOK = NOTEBOOKS / "walkthrough.ipynb"


def _generator():
    spec = importlib.util.spec_from_file_location("make_walkthrough", NOTEBOOKS / "make_walkthrough.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_notebook_is_generated_and_cleared():
    """The committed notebook is what make_walkthrough.py builds, with no outputs."""
    committed = nbformat.read(NOTEBOOK, as_version=4)
    assert committed == _generator().build(), "run `python notebooks/make_walkthrough.py` and commit the notebook"
    for cell in committed.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def _text(cell) -> str:
    """Everything a code cell showed: streams, plain-text and HTML results."""
    parts = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type in ("execute_result", "display_data"):
            parts.append(out.data.get("text/plain", ""))
            parts.append(out.data.get("text/html", ""))
    return "\n".join(parts)


@pytest.fixture
def kernel_config(monkeypatch, tmp_path):
    """A kernelspec "python3" running this interpreter, found first through JUPYTER_PATH; IPC transport.

    The IPC socket files live in a short temporary folder (Unix socket paths are limited to ~100 bytes);
    the notebook's own temporary files go to `tmp_path` (the kernel inherits TMPDIR).
    """
    folder = Path(tempfile.mkdtemp(prefix="circles-nb-"))
    spec = folder / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (circles test)",
        "language": "python",
    }), encoding="utf-8")
    monkeypatch.setenv("JUPYTER_PATH", str(folder))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    config = Config()
    config.KernelManager.transport = "ipc"
    config.KernelManager.connection_file = str(folder / "kernel.json")
    config.KernelManager.ip = str(folder / "ipc")
    try:
        yield config
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
def test_walkthrough_runs_offline(kernel_config):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", config=kernel_config,
                            resources={"metadata": {"path": str(ROOT)}})
    t0 = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - t0

    errors = [(c.id, o.get("ename"), o.get("evalue")) for c in nb.cells if c.cell_type == "code"
              for o in c.outputs if o.output_type == "error"]
    assert errors == []
    text = {c.id: _text(c) for c in nb.cells if c.cell_type == "code"}
    everything = "\n".join(text.values())

    assert "示例数据" in everything  # the sample says it is synthetic
    assert "设施台账 facilities.csv" in everything and "[elderly/station]" in everything  # the ledger check
    assert "pop_60plus" in everything and "speed_kmh" in everything  # the profile table
    # the coverage table: one row per category with its share and the people left out
    coverage = next(t for t in text.values() if "uncovered" in t and "coverage" in t)
    for category in ("elderly", "meal", "child"):
        assert category in coverage
    assert "示例一街道" in everything  # the per-street table
    assert "demand_uncovered" in everything  # the gap areas
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "display_data" and "image/png" in o.data]
    assert len(images) >= 1  # the static map of streets, service areas and gaps
    assert "srcdoc" in everything  # the interactive map (circles.outputs.map), inlined for offline use
    assert "coverage_before" in everything and "coverage_after" in everything  # the scenario
    for name in ("summary.json", "access.csv", "gaps.geojson"):  # the exports
        assert name in everything

    if SHARED_DATA.exists():
        assert "331 Beijing streets" in everything
        assert "手工台账（示意）" in everything and "清华园街道" in everything
        # the county section (issue 18): tiers with their modes, meal delivery and home visits
        assert "ebike" in everything and "drive" in everything and "乡镇（街道）区域养老服务中心" in everything
        assert "'kitchens': 2" in everything and "贵溪市老年助餐中心厨房" in everything
        assert "'demand_column': 'pop_80plus'" in everything
    else:
        assert "skipped: ../shared/data not found" in everything
    assert seconds < 120, f"the notebook took {seconds:.0f} s; keep it under a minute"
