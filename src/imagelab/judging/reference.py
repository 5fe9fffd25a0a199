"""What the 2019 report printed beside its answers (its dense network's history; the questions
and answers are in ``imagelab.judging.questions``), and the note on our JPEG-derived CIFAR-10."""

from __future__ import annotations

from imagelab import records
from imagelab.data import ARRAYS, KNOWN_CHECKSUMS

CIFAR_JPEG_NOTE = (
    "Our CIFAR-10 is not the data 2019 used: no lossless copy could be reached from these "
    "machines, so it is decoded from JPEG files (quality 75), with slightly different pixels and "
    "a reshuffled order (shared/datasets/SOURCES.md). Accuracy on it is close to, not identical "
    "with, accuracy on the original."
)


def is_jpeg_cifar(provenance: dict) -> bool:
    """Whether a run trained on the JPEG-derived CIFAR-10 copy (by its array checksums)."""
    known = KNOWN_CHECKSUMS["cifar10"]
    checksums = provenance["data"]["checksums"]
    return provenance["data"]["dataset"] == "cifar10" and all(
        checksums.get(key) == known[key] for key in ARRAYS
    )


HISTORY_2019 = records.PROJECT_ROOT / "histories" / "lab2019" / "history.csv"  # 2019's dense net
