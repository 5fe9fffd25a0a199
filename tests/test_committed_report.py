"""The committed report/report.pdf shows the committed results, not older ones.

The PDF carries, in its metadata, the digest of every results file the report read when it was
rendered. A change to a committed history, score, figure, sweep or verify record changes
today's digest; this test then fails until `make report` re-renders the PDF and it is committed.
"""

from pathlib import Path

import pytest

from imagelab import report

ROOT = Path(__file__).parents[1]
PDF = ROOT / "report" / "report.pdf"


def test_committed_pdf_and_html_exist():
    assert PDF.is_file(), "report/report.pdf is missing: run `make report` and commit it"
    assert (ROOT / "report" / "report.html").is_file()


def test_committed_pdf_was_rendered_from_the_committed_results():
    pypdf = pytest.importorskip("pypdf")
    embedded = pypdf.PdfReader(PDF).metadata["/Keywords"]
    assert embedded == report.inputs_digest(), (
        "the committed results changed since report/report.pdf was rendered: "
        "run `make report` and commit report/report.pdf and report/report.html"
    )


def test_the_digest_check_fails_when_a_result_changes(tmp_path):
    # The check above can fail: a copy of one input with another byte gives another digest.
    named = report.input_files()
    copy = tmp_path / "results"
    for name, source in named.items():
        if name.startswith("results/"):
            target = copy / name.removeprefix("results/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
    assert report.inputs_digest(results_dir=copy) == report.inputs_digest()
    changed = copy / "scores" / "relu_mnist.csv"
    changed.write_bytes(changed.read_bytes() + b"\n")
    assert report.inputs_digest(results_dir=copy) != report.inputs_digest()


def test_readme_states_the_committed_reports_page_count():
    # A number in prose is computed or checked, never typed and left: the README's page count
    # is the committed PDF's, and a re-render with another count fails here until it is fixed.
    import re

    pypdf = pytest.importorskip("pypdf")
    readme = (ROOT / "README.md").read_text()
    stated = re.findall(r"the committed PDF has (\d+) pages", readme)
    assert stated == [str(len(pypdf.PdfReader(PDF).pages))], stated
