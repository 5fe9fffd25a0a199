"""What the 2019 report said (its questions and answers, its dense network's history), and the
note on our JPEG-derived CIFAR-10."""

from __future__ import annotations

from imagelab import records
from imagelab.data import ARRAYS, KNOWN_CHECKSUMS

# What the 2019 report answered, per exercise: (question, 2019's answer in its own words).
QUESTIONS_2019 = {
    "dense_mnist": [
        ("Q2: how long does an epoch take?", "'See output at Xs Yus/sample' (no number given)."),
        (
            "Q4-5: does the model generalise?",
            "'The model performs similar on training and out of "
            "training data. It generalises well.'",
        ),
        (
            "Q6: is the accuracy high enough?",
            "'Not high enough for applications that can have big "
            "consequences ... for less precise tasks the accuracy may suffice.'",
        ),
    ],
    "relu_mnist": [
        (
            "Q9: does it generalise?",
            "'The performance on the validation set is a lot lower than "
            "the performance on the training set. Probably this model does not generalise as well "
            "as the previous model.'",
        ),
        (
            "Q10: will it do worse on the test set than the previous model?",
            "'Probably this will perform worse on the test set than the previous model.'",
        ),
    ],
    "cnn_mnist": [
        (
            "Q12-13: does it generalise?",
            "'The performance on the training set and the validation "
            "set are very similar ... It generalises better than the previous model.'",
        ),
        (
            "Q14: is the accuracy sufficient?",
            "'Sufficient ... for applications for which 1 mistake in 100 digits is acceptable.'",
        ),
    ],
    "cnn_dropout_mnist": [
        (
            "Q16: how do the histories compare?",
            "'History of the training and validation sets are "
            "even closer than in the previous models. Training time was about 10 seconds longer on "
            "average.'",
        ),
        (
            "Q17: which model generalises better?",
            "'The models should generalise well, the 2nd one slightly better than the first.'",
        ),
    ],
    "cifar10_cnn": [
        (
            "Q20: how do the curves behave?",
            "'The accuracy and loss function seem to take more epochs before they plateau.'",
        ),
        ("Q21: how long does an epoch take?", "'Each epoch took more than 2 minutes.'"),
    ],
}

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
