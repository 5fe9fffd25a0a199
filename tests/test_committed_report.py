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


# --- the PDF as a document: looked at, not only read ---------------------------------------------


def _pdf_pages():
    import pdfplumber

    return pdfplumber.open(PDF)


def test_figure_captions_are_numbered_in_order():
    import re

    import pypdf

    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(PDF).pages)
    numbers = [int(n) for n in re.findall(r"Figure\s(\d+):", text)]  # Typst: a no-break space
    assert len(numbers) >= 15  # every exercise's figures, the Playground's, the sweeps'
    assert numbers == list(range(1, len(numbers) + 1))


def test_no_two_words_overlap_on_any_page():
    """Text that runs into the next column ("cnn_dropout_mnidentical") overlaps its neighbour."""
    import numpy as np

    with _pdf_pages() as pdf:
        for number, page in enumerate(pdf.pages, start=1):
            words = page.extract_words()
            box = np.array([[w["x0"], w["x1"], w["top"], w["bottom"]] for w in words])
            if len(box) < 2:
                continue
            width = np.minimum(box[:, None, 1], box[None, :, 1]) - np.maximum(
                box[:, None, 0], box[None, :, 0]
            )
            height = np.minimum(box[:, None, 3], box[None, :, 3]) - np.maximum(
                box[:, None, 2], box[None, :, 2]
            )
            overlap = (width > 1.0) & (height > 1.0)  # more than a point each way
            np.fill_diagonal(overlap, False)
            pairs = [
                (words[i]["text"], words[j]["text"])
                for i, j in zip(*np.nonzero(overlap), strict=True)
                if i < j
            ]
            assert not pairs, f"page {number}: overlapping words {pairs[:5]}"


def test_the_report_stays_within_20_pages():
    with _pdf_pages() as pdf:
        assert len(pdf.pages) <= 20


def test_no_page_but_the_last_is_more_than_a_third_empty():
    with _pdf_pages() as pdf:
        for number, page in enumerate(pdf.pages[:-1], start=1):
            bottoms = [c["bottom"] for c in page.chars] + [i["bottom"] for i in page.images]
            footer = max(c["top"] for c in page.chars if c["text"].isdigit())  # the page number
            content = max(b for b in bottoms if b < footer - 1)
            assert content >= page.height * 2 / 3 - 30, f"page {number} is more than a third empty"


def test_no_page_ends_on_a_lead_in_whose_table_is_on_the_next():
    with _pdf_pages() as pdf:
        for number, page in enumerate(pdf.pages[:-1], start=1):
            footer = max(c["top"] for c in page.chars if c["text"].isdigit())  # the page number
            lines = page.extract_text_lines()
            last = [line for line in lines if line["bottom"] < footer - 1][-1]["text"]
            assert not last.rstrip().endswith(":"), f"page {number} ends on {last!r}"


def test_a_lead_in_and_its_table_are_kept_together():
    from imagelab.report.render import keep_lead_ins_with_tables

    source = "Intro.\n\nThe machines, as last recorded:\n\n#figure(\n  align(center)[#table(\n"
    kept = keep_lead_ins_with_tables(source)
    assert "#block(sticky: true)[The machines, as last recorded:]\n\n#figure(" in kept
    assert kept.startswith("Intro.\n\n")
    listed = keep_lead_ins_with_tables("The machines:\n\n- one\n- two\n")
    assert listed.startswith("#block(sticky: true)[The machines:]\n\n- one")
    heading = "= Seeds:\n\n#figure(\n  align(center)[#table(\n"  # not a paragraph: untouched
    assert keep_lead_ins_with_tables(heading) == heading


def test_every_figure_is_printed_at_least_at_the_size_it_was_drawn():
    """imagelab.plots draws each figure at its printed size (no text under 7 pt, checked in
    tests/test_figure_print.py) and saves it at plots.DPI: a figure placed smaller than drawn
    (more pixels per printed inch) would shrink its text below that; fewer than 150 pixels per
    inch would print it soft."""
    from imagelab import plots

    with _pdf_pages() as pdf:
        placed = [(number, image) for number, page in enumerate(pdf.pages, start=1)
                  for image in page.images]  # fmt: skip
        assert len(placed) >= 15
        for number, image in placed:
            per_inch = image["srcsize"][0] / ((image["x1"] - image["x0"]) / 72)
            assert 150 <= per_inch <= plots.DPI / 0.99, (number, round(per_inch, 1))
