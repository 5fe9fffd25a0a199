"""Markdown, tables and figures as the report notebook shows them."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd


def _table(frame: pd.DataFrame, floatfmt: str | tuple[str, ...] = ".4f") -> str:
    shown = frame.astype(object).where(frame.notna(), None)  # missing values print as "-"
    return shown.to_markdown(index=False, floatfmt=floatfmt, missingval="-")


def _show(markdown: str) -> None:
    from IPython.display import Markdown, display

    display(Markdown(markdown))


def _metadata(caption: str, pdf_width: str | None) -> dict[str, str]:
    """What ``render`` reads beside a figure: its caption (the PDF numbers it, "Figure 3: ...")
    and its width in the PDF (default: its natural size)."""
    return {"caption": caption} | ({"pdf_width": pdf_width} if pdf_width else {})


def _figure(path: Path, caption: str, pdf_width: str | None = None) -> None:
    """Show a PNG with its caption (what it shows and what to look at); ``pdf_width`` (e.g.
    ``"60%"``) sets its width in the PDF."""
    from IPython.display import Image, display

    if path.is_file():
        display(Image(filename=str(path)), metadata=_metadata(caption, pdf_width))


def _plot(figure: object, caption: str, pdf_width: str | None = None) -> None:
    """Show a matplotlib figure drawn for the report, with its caption, and close it; as the
    PNG ``plots`` saves figures as (its DPI, so the PDF prints it at its drawn size)."""
    from IPython.display import Image, display

    from imagelab import plots

    display(Image(data=plots.png(figure)), metadata=_metadata(caption, pdf_width))
    plots.close(figure)


def _figures_side_by_side(paths: list[Path], caption: str, pdf_width: str | None = None) -> None:
    """Show PNGs next to each other as one image (pixels copied, not resampled)."""
    from IPython.display import Image, display
    from PIL import Image as PILImage

    from imagelab import plots

    images = [PILImage.open(p).convert("RGB") for p in paths if p.is_file()]
    if not images:
        return
    row = PILImage.new(
        "RGB", (sum(i.width for i in images), max(i.height for i in images)), "white"
    )
    left = 0
    for image in images:
        row.paste(image, (left, (row.height - image.height) // 2))
        left += image.width
    buffer = io.BytesIO()
    row.save(buffer, format="PNG", dpi=images[0].info.get("dpi", (plots.DPI, plots.DPI)))
    display(Image(data=buffer.getvalue()), metadata=_metadata(caption, pdf_width))
