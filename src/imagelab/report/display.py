"""Markdown, tables and figures as the report notebook shows them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def _table(frame: pd.DataFrame, floatfmt: str | tuple[str, ...] = ".4f") -> str:
    shown = frame.astype(object).where(frame.notna(), None)  # missing values print as "-"
    return shown.to_markdown(index=False, floatfmt=floatfmt, missingval="-")


def _show(markdown: str) -> None:
    from IPython.display import Markdown, display

    display(Markdown(markdown))


def _figure(path: Path) -> None:
    from IPython.display import Image, display

    if path.is_file():
        display(Image(filename=str(path)))
