"""What do 32 training steps per call cost in memory? Each path alone in a fresh process (#39).

Runs ``bench.imagelab_epoch`` or ``bench.bare_epoch`` alone (2 epochs of the benchmark's slice of
``BATCHES`` batches, float32), as ``bench.peak_alone`` does, and imagelab once more at one
training step per call, and prints the peak resident memory of each. Before the predictions
went one batch per call (``training.predicted_classes``), imagelab's MNIST CNN peaked 100-130
MiB above one step per call; that was ``model.predict``'s graph, not the training steps.

    IMAGELAB_DATA=../shared/datasets .venv/bin/python studies/peak_memory_apart.py
"""

import importlib.util
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench.py"
CASES = [(exercise, path, steps) for exercise in ("cnn_mnist", "cnn_dropout_mnist")
         for path, steps in (("imagelab", 32), ("bare", None), ("imagelab", 1))]  # fmt: skip


def measure(exercise: str, path: str, steps: int | None) -> float:
    """One path's peak resident memory in MiB (run in its own process by ``main``)."""
    spec = importlib.util.spec_from_file_location("bench", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    if steps is not None:
        from imagelab import training

        training.fit.__kwdefaults__ = training.fit.__kwdefaults__ | {"steps_per_execution": steps}
    bench.reset_peak()
    run = bench.imagelab_epoch if path == "imagelab" else bench.bare_epoch
    run(exercise, bench.BATCHES[exercise], 2, "float32")
    return bench.peak_mib()


def main() -> int:
    if len(sys.argv) == 4:  # one case, in this fresh process
        steps = None if sys.argv[3] == "-" else int(sys.argv[3])
        print(f"{measure(sys.argv[1], sys.argv[2], steps):.0f}")
        return 0
    for exercise, path, steps in CASES:
        args = [sys.executable, __file__, exercise, path, "-" if steps is None else str(steps)]
        out = subprocess.run(args, capture_output=True, text=True, check=True).stdout.split()
        where = path + (f", {steps} step(s) per call" if steps else "")
        print(f"{exercise:18} {where:32} {out[-1]} MiB peak RSS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
