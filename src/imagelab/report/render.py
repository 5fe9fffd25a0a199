"""Render the report: execute notebooks/report.ipynb, then export it to HTML and PDF.

HTML comes from nbconvert. The PDF needs nothing outside pip: the executed notebook's outputs
become Markdown (text as written, figures as image files with their width), pandoc (the
``pypandoc-binary`` wheel) turns that into Typst, and Typst (the ``typst`` wheel) typesets it.
No LaTeX, no system package.

Cells tagged ``title`` and ``abstract`` in the report notebook become the PDF's title block; the
PDF's metadata carries the digest of the results it was rendered from (``inputs.digest``).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import math
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from imagelab.errors import DISK_ERRORS, UserError
from imagelab.records import PROJECT_ROOT, relative

REPORT_NOTEBOOK = PROJECT_ROOT / "notebooks" / "report.ipynb"
OUT_DIR = PROJECT_ROOT / "report"
# Figures are shown at their natural size: imagelab.plots draws each at its printed size, so
# its text sizes are the printed ones (none under plots.MIN_FONT_PT).
FIGURE_SCALE = 1.0
TEXT_WIDTH_IN = 6.9  # A4 with 1.8 cm margins

# Page and table style, after pandoc's default Typst template.
TYPST_STYLE = """
#set document(date: none)
#set text(font: ("Libertinus Serif", "New Computer Modern"), size: 10pt)
#set par(justify: false)
#show heading.where(outlined: true): set heading(
  numbering: (..n) => if n.pos().len() <= 2 { numbering("1.1", ..n) },
)
#show heading: set block(above: 1.1em, below: 0.6em)
#show table: set text(size: 8.5pt)
#set table(inset: (x: 4pt, y: 2.5pt), stroke: (x, y) => if y == 0 { (bottom: 0.6pt) })
#show figure.where(kind: image): set figure(placement: auto)
#show figure: set block(above: 0.6em, below: 0.8em, breakable: false)
#show figure.caption: set text(size: 9pt)
#show figure.caption: set par(justify: false)
#show heading: set text(hyphenate: false)
#show table: set text(hyphenate: false)
#show raw: set text(size: 8.5pt)
"""


class ReportNotWritten(UserError):
    """A folder the report writes to is read-only, full or not ours; nothing was replaced."""


@contextlib.contextmanager
def _disk_errors(out_dir: Path, folder: Path) -> Iterator[None]:
    """Turn a disk error while writing into ``folder`` into one paragraph: the path, what
    happened, that the old report stands, and what to do. Other errors keep their traceback."""
    try:
        yield
    except OSError as error:
        if error.errno not in DISK_ERRORS:
            raise
        where = Path(error.filename).parent if error.filename else folder
        raise ReportNotWritten(
            f"cannot write to {relative(where)}: {DISK_ERRORS[error.errno]}. The report was not "
            f"updated: {relative(out_dir / 'report.pdf')} and report.html are as they were. "
            f"Make {relative(where)} writable (or free space on its disk) and run "
            "`imagelab report` again."
        ) from None


def _check_writable(out_dir: Path, *folders: Path) -> None:
    """Before minutes of rendering: every folder the report writes takes a file."""
    for folder in folders:
        with _disk_errors(out_dir, folder):
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=folder) as probe:
                probe.write(b"imagelab")


def render(out_dir: Path = OUT_DIR, parameters: dict | None = None, quiet: bool = False) -> Path:
    """Execute the report notebook with papermill and write ``report.pdf`` and ``report.html``
    (code hidden) into ``out_dir``; return the PDF's path.

    ``parameters`` are the notebook's (``runs``, ``results_dir``, ``sweeps_dir`` ...); the PDF's
    metadata gets the digest of the files those parameters point the report at. A folder that
    is read-only, full or not writable stops it with ``ReportNotWritten``, before executing
    when it can tell, the old PDF and HTML intact (both are written whole, then renamed).
    """
    from nbformat import read

    from imagelab.records import atomic_path
    from imagelab.report import inputs
    from imagelab.running.runs import BUILD, execute

    parameters = parameters or {}
    started = time.perf_counter()
    executed, work = BUILD / "report.ipynb", BUILD / "report-pdf"
    _check_writable(out_dir, BUILD, work, out_dir)
    with _disk_errors(out_dir, BUILD):
        execute(REPORT_NOTEBOOK, executed, parameters, log_output=False)
    _step(quiet, f"executed {relative(REPORT_NOTEBOOK)}", started)
    notebook = read(executed, as_version=4)
    for cell in notebook.cells:  # the reader gets results; logs stay in the executed notebook
        cell["outputs"] = [o for o in cell.get("outputs", []) if o.get("output_type") != "stream"]
    keys = ("runs", "results_dir", "sweeps_dir", "benchmarks", "studies_dir", "reproductions")
    digest = inputs.digest(**{k: v for k, v in parameters.items() if k in keys})
    html, pdf = out_dir / "report.html", out_dir / "report.pdf"
    # Both are written in full beside their old copies, then renamed over them together: a
    # failed write leaves the old pair, never a new HTML beside an old PDF.
    with _disk_errors(out_dir, out_dir), atomic_path(pdf) as new_pdf, atomic_path(html) as new_html:
        write_html(notebook, new_html)
        write_pdf(notebook, new_pdf, digest, work)
    _step(quiet, f"wrote {relative(html)}", started)
    pdf_sha256 = hashlib.sha256(pdf.read_bytes()).hexdigest()
    _step(
        quiet,
        f"wrote {relative(pdf)} (its sha256 {pdf_sha256[:12]}...; the digest of the inputs it "
        f"shows, in its keywords: {digest[:19]}...)",
        started,
    )
    return pdf


def _step(quiet: bool, what: str, started: float) -> None:
    if not quiet:
        print(f"== report: {what} ({time.perf_counter() - started:.1f}s)", flush=True)


def write_html(notebook: object, path: Path) -> Path:
    """The executed notebook as one self-contained HTML page, code hidden."""
    from nbconvert import HTMLExporter

    from imagelab.records import atomic_path

    body, _ = HTMLExporter(exclude_input=True, embed_images=True).from_notebook_node(
        notebook, resources={"metadata": {"name": "report"}}
    )
    with atomic_path(path) as tmp:
        tmp.write_text(body)
    return path


def write_pdf(notebook: object, path: Path, digest: str, work: Path) -> Path:
    """The executed notebook typeset as PDF through Markdown, pandoc and Typst.

    ``work`` receives the Markdown, the figures and the Typst source (kept for inspection).
    """
    import pypandoc
    import typst
    import yaml

    from imagelab.records import atomic_path

    work.mkdir(parents=True, exist_ok=True)
    title, abstract, body = to_markdown(notebook, work)
    # The title block as pandoc metadata, whose strings are read as Markdown.
    meta = {"title": title, "abstract": abstract, "keywords": [f'"{digest}"']}  # a Typst string
    text = f"---\n{yaml.safe_dump(meta, allow_unicode=True, width=10**6)}---\n\n{body}"
    (work / "report.md").write_text(text)
    source = pypandoc.convert_text(
        text,
        "typst",
        # Notebook text is plain Markdown: no TeX math ($ is a dollar), no raw HTML. An image
        # alone in its paragraph with a caption becomes a numbered figure ("Figure 3: ...").
        format="markdown-tex_math_dollars-raw_html-raw_tex",
        extra_args=[
            "--standalone",
            "--toc",
            "--toc-depth=1",  # sections only: the report stays within 20 pages
            "--columns=100000",  # pipe tables get automatic column widths (Typst fits them)
            "--variable=papersize:a4",
            "--variable=margin.x:1.8cm",
            "--variable=margin.y:1.8cm",
            "--variable=page-numbering:1",
            f"--variable=header-includes:{TYPST_STYLE}",
        ],
    )
    source = keep_lead_ins_with_tables(source)
    (work / "report.typ").write_text(source)
    # Typeset to memory, then written here: a full disk is an OSError, not typst's own error.
    pdf = typst.compile(str(work / "report.typ"), root=str(work))
    with atomic_path(path) as tmp:
        tmp.write_bytes(pdf)
    return path


def keep_lead_ins_with_tables(source: str) -> str:
    """A paragraph ending in a colon and followed by a table or a list (pandoc's Typst: one
    line per paragraph, a table a ``#figure`` of ``#table``) stays on the page of what it leads
    into: Typst's sticky block, so no lead-in is left alone at the foot of a page."""
    return re.sub(
        # a paragraph: not a heading (=), a list item (-, +) or code (#)
        r"(?m)^([^#=+\-\s][^\n]*:)\n\n(#figure\(\n\s*align\(center\)\[#table|- )",
        r"#block(sticky: true)[\1]\n\n\2",
        source,
    )


def to_markdown(notebook: object, images: Path) -> tuple[str, str, str]:
    """The notebook's title, abstract and body as Markdown; figures are written to ``images``.

    Cells tagged ``title`` (a ``# heading``) and ``abstract`` (text, or a cell whose output is)
    give the title block; every other markdown cell is copied, every output's Markdown is
    copied and every PNG becomes an image file with its caption (the output's ``caption``) and
    a width (the output's ``pdf_width``, or its natural size scaled by ``FIGURE_SCALE``).
    """
    title, abstract, body = "", [], []
    for number, cell in enumerate(notebook.cells):
        tags = cell.get("metadata", {}).get("tags", [])
        parts = []
        if cell["cell_type"] == "markdown":
            parts.append(cell["source"])
        for index, output in enumerate(cell.get("outputs", [])):
            data = output.get("data", {})
            if "image/png" in data:
                name = f"figure_{number}_{index}.png"
                content = base64.b64decode(data["image/png"])
                (images / name).write_bytes(content)
                metadata = output.get("metadata", {})
                width = metadata.get("pdf_width") or _natural_width(content)
                caption = " ".join(str(metadata.get("caption", "")).split())
                parts.append(f"![{caption}]({name}){{width={width}}}")
            elif "text/markdown" in data:
                parts.append(data["text/markdown"])
            elif output.get("output_type") == "error":
                parts.append(f"**Error:** `{output.get('ename')}: {output.get('evalue')}`")
        text = "\n\n".join(parts).strip()
        if "title" in tags:
            title = text.lstrip("# ").strip()
        elif "abstract" in tags:
            abstract.append(text)
        elif text:
            body.append(text)
    return title, "\n\n".join(abstract), "\n\n".join(body) + "\n"


def _natural_width(png: bytes) -> str:
    """The width a PNG is drawn at (its pixels over the DPI it records), rounded up to the
    hundredth of an inch so the PDF never prints it smaller; at most the text width."""
    from PIL import Image

    from imagelab import plots

    with Image.open(io.BytesIO(png)) as image:
        dpi = image.info.get("dpi", (plots.DPI, plots.DPI))[0] or plots.DPI
        inches = image.width / dpi * FIGURE_SCALE
    return f"{min(math.ceil(inches * 100) / 100, TEXT_WIDTH_IN):.2f}in"
