"""The verified copies of the lab's two data sets, by content: the sha256 of each array and the
images per split (from ``shared/datasets/SOURCES.md``), and the one test of canonical data.

Data is canonical when its arrays have these checksums and sizes, wherever it came from
(``canonical_differences``); ``imagelab.data`` loads and checks the files against them, and
re-exports these names.
"""

from __future__ import annotations

ARRAYS = ("x_train", "y_train", "x_test", "y_test")

# Array-content sha256s of the verified copies (shared/datasets/SOURCES.md). The CIFAR-10 entry
# is the JPEG-derived copy (quality 75, fixed shuffled order), not the lossless original.
KNOWN_CHECKSUMS = {
    "mnist": {
        "description": "MNIST, original IDX files (LeCun, Cortes, Burges)",
        "x_train": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
        "y_train": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
        "x_test": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
        "y_test": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
    },
    "cifar10": {
        "description": "CIFAR-10, JPEG-derived copy (quality 75; pixels differ slightly "
        "from the original, order reshuffled)",
        "x_train": "8f6689e5efe220934ec5583d5ceb14b6a06d202c202ad616b81c91820d5077eb",
        "y_train": "4716fd77f221b4f583694b47c794f82794dffafd4657c00240f9a88b9b1b1649",
        "x_test": "357b4cc58191a3e050ec7e663a5e3e1ffdfa72d07ac733886064beae61db4e36",
        "y_test": "56fcbb69009bb453573888705635780b67b3ee343e1d81629094c22f109d4902",
    },
}

# Images per split of the verified copies: with the checksums above, what makes data canonical.
KNOWN_SIZES = {
    "mnist": {"n_train": 60000, "n_test": 10000},
    "cifar10": {"n_train": 50000, "n_test": 10000},
}


def canonical_differences(dataset: str, checksums: object, sizes: dict[str, object]) -> list[str]:
    """How data (``checksums`` per array; ``sizes``: ``n_train``, ``n_test``) differs from the
    verified copy (``KNOWN_CHECKSUMS``, ``KNOWN_SIZES``), in words; empty when it is that copy.

    The one test of canonical data: by content, never by a file's name, folder or the table that
    vouched for it (a folder called ``keras.datasets`` holding imported images is not canonical).
    """
    if dataset not in KNOWN_CHECKSUMS:
        return [f"{dataset!r} is not one of the verified data sets {sorted(KNOWN_CHECKSUMS)}"]
    checksums = checksums if isinstance(checksums, dict) else {}
    wrong = [key for key in ARRAYS if checksums.get(key) != KNOWN_CHECKSUMS[dataset][key]]
    return [f"{key}'s sha256 is not the verified one" for key in wrong] + [
        f"{key} is {sizes.get(key)!r}, the verified copy has {size}"
        for key, size in KNOWN_SIZES[dataset].items()
        if sizes.get(key) != size
    ]
