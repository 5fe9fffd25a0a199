"""Do a shape's seeds trained side by side give the same networks as each seed trained alone,
and how much sooner?

The Playground search (imagelab.running.playground_search) trains one network per seed for each
hidden-layer shape. `playground.train` stacks the networks' weights and sums their losses, so
plain gradient descent should give each network exactly its own gradient; each seed keeps its
own data split and initial weights. This trains three shapes on seeds 1-10 both ways (2019's
settings, 2000 epochs, one TensorFlow thread as the notebook uses), compares every history
value, and times both. For seeds 1-3 it also lists the test loss that the earlier code (one
Keras model per run, commit 17c3685) stored in scores/playground_search.csv, to show how far
a change in the order of float32 roundings moves a run after 2000 epochs. Writes
studies/playground_batched.csv.

    .venv/bin/python studies/playground_batched.py
"""

import io
import os
import subprocess
import time

import numpy as np
import pandas as pd

from imagelab import playground, records, training

SETTINGS = {
    "activation": "tanh", "learning_rate": 0.1, "later_learning_rate": 0.01, "switch_epoch": 1501,
    "regularization": None, "regularization_rate": 0.0, "noise": 0, "batch_size": 10,
    "train_ratio": 0.5, "epochs": 2000,
}  # fmt: skip
SHAPES = [("all", [3]), ("all", [8]), ("raw", [8, 8])]
SEEDS = list(range(1, 11))
OLD_RESULTS = (
    "71d1769b1e702e8445b78a8ecdb01f28c8283dcd"  # holds the 3-seed search, trained at 17c3685
)


def old_results() -> pd.DataFrame:
    text = subprocess.run(
        ["git", "show", f"{OLD_RESULTS}:scores/playground_search.csv"],
        cwd=records.PROJECT_ROOT, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return pd.read_csv(io.StringIO(text), dtype={"hidden": str})


def main() -> None:
    training.configure_threads(1)
    old, rows = old_results(), []
    commit = records.git_state()["commit"]
    for feature_set, hidden in SHAPES:
        s = SETTINGS | {"features": list(playground.FEATURE_SETS[feature_set]), "hidden": hidden}
        load = os.getloadavg()[0]
        started = time.perf_counter()
        _, _, together = playground.train_seeds(s, SEEDS)
        together_seconds = time.perf_counter() - started
        for seed, joint in zip(SEEDS, together, strict=True):
            started = time.perf_counter()
            [alone] = playground.train_seeds(s, [seed])[2]
            alone_seconds = time.perf_counter() - started
            a, b = joint.history["value"].to_numpy(), alone.history["value"].to_numpy()
            shape = "-".join(map(str, hidden))
            before = old.query("feature_set == @feature_set and hidden == @shape and seed == @seed")
            rows.append(
                {
                    "feature_set": feature_set,
                    "hidden": shape,
                    "seed": seed,
                    "test_loss_together": joint.score["test_loss"],
                    "test_loss_alone": alone.score["test_loss"],
                    "history_max_abs_difference": float(np.abs(a - b).max()),
                    "test_loss_old_code": before["test_loss"].iloc[0] if len(before) else None,
                    "seconds_together_all_seeds": together_seconds,
                    "seconds_alone": alone_seconds,
                    "load_before": load,
                    "commit": commit,
                }
            )
            print(rows[-1], flush=True)
    out = records.PROJECT_ROOT / "studies" / "playground_batched.csv"
    records.write_csv(pd.DataFrame(rows), out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
