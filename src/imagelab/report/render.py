"""Render the report: execute notebooks/report.ipynb with papermill, export it to PDF and HTML."""

from __future__ import annotations

import time
from pathlib import Path

from imagelab.records import PROJECT_ROOT

REPORT_NOTEBOOK = PROJECT_ROOT / "notebooks" / "report.ipynb"
OUT_DIR = PROJECT_ROOT / "report"


def render(out_dir: Path = OUT_DIR, parameters: dict | None = None) -> Path:
    """Execute the report notebook with papermill and render it to PDF and HTML, code hidden."""
    from nbconvert import HTMLExporter, PDFExporter
    from nbformat import read

    from imagelab.records import atomic_path
    from imagelab.runs import BUILD, execute

    executed = BUILD / "report.ipynb"
    started = time.perf_counter()
    execute(REPORT_NOTEBOOK, executed, parameters or {})
    notebook = read(executed, as_version=4)
    for cell in notebook.cells:  # the reader gets results; logs stay in the executed notebook
        cell["outputs"] = [o for o in cell.get("outputs", []) if o.get("name") != "stderr"]
    out_dir.mkdir(parents=True, exist_ok=True)
    for exporter, name in (
        (PDFExporter(exclude_input=True), "report.pdf"),
        (HTMLExporter(exclude_input=True, embed_images=True), "report.html"),
    ):
        body, _ = exporter.from_notebook_node(notebook, resources={"metadata": {"name": "report"}})
        with atomic_path(out_dir / name) as tmp:
            tmp.write_bytes(body if isinstance(body, bytes) else body.encode())
    print(
        f"== report: {out_dir / 'report.pdf'} and report.html in {time.perf_counter() - started:.0f}s"
    )
    return out_dir / "report.pdf"
