"""The benchmark's smoke mode runs end to end, so `make bench` cannot rot unnoticed; its
bfloat16 paths are timed beside float32 where the CPU can, and skipped in one line where not."""

import importlib.util
import subprocess
import sys

import pandas as pd
import pytest

from imagelab import precision

from .conftest import ROOT

_spec = importlib.util.spec_from_file_location("bench", ROOT / "benchmarks" / "bench.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

COLUMNS = ["name", "value", "unit", "machine", "date", "commit"]
PER_MODEL = ["imagelab_epoch", "bare_epoch", "ratio", "gflops", "matmul_pct",
             "imagelab_peak_rss", "bare_peak_rss"]  # fmt: skip
PER_BF16_MODEL = ["imagelab_bf16_epoch", "bare_bf16_epoch", "bf16_ratio", "bare_bf16_ratio",
                  "imagelab_bf16_peak_rss", "bare_bf16_peak_rss"]  # fmt: skip
SMOKE_MODELS = ("dense_mnist", "cifar10_cnn")


def _minima_come_from_the_epochs(results: pd.DataFrame, epochs: pd.DataFrame) -> None:
    value = results.set_index("name")["value"]
    for (exercise, path), seconds in epochs.groupby(["exercise", "path"])["seconds"]:
        assert value[f"{exercise}/{path}_epoch"] == seconds.min(), (exercise, path)


@pytest.mark.slow
def test_bench_smoke_writes_every_measurement_and_the_report_shows_them(tmp_path, monkeypatch):
    from imagelab import report

    shown = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench.py"), "--smoke",
                            "--out", str(tmp_path)], check=True, cwd=ROOT, timeout=600,
                           stdout=subprocess.PIPE, text=True).stdout  # fmt: skip
    bf16 = precision.unsupported() is None  # the bench's subprocess sees the same CPU
    results = pd.read_csv(tmp_path / "results.csv")
    assert list(results.columns) == COLUMNS
    expected = {"matmul_fp32", "papermill/notebook", "papermill/in_process", "papermill/overhead"}
    expected |= {f"{m}/{what}" for m in SMOKE_MODELS for what in PER_MODEL}
    in_bf16 = {f"cifar10_cnn/{what}" for what in PER_BF16_MODEL}  # the smoke's CNN
    assert expected | (in_bf16 if bf16 else set()) <= set(results["name"])
    assert not any("bf16" in name for name in results["name"] if name not in in_bf16)
    if not bf16:
        assert sum("bfloat16 paths skipped" in line for line in shown.splitlines()) == 1, shown
    measured = results[results["name"].isin(expected - {"papermill/overhead"})]
    assert (measured["value"] > 0).all(), measured
    epochs = pd.read_csv(tmp_path / "epochs.csv")  # every timed epoch the minima come from
    assert list(epochs.columns) == ["exercise", "path", "repeat", "epoch", "seconds", "commit"]
    _minima_come_from_the_epochs(results, epochs)
    # two models x two paths (and the CNN's two bfloat16 paths) x one repeat x one timed epoch
    assert len(epochs) == 2 * 2 + (2 if bf16 else 0)
    value = results.set_index("name")["value"]
    for model in SMOKE_MODELS:  # against the run's best matmul, as the report
        share = 100 * value[f"{model}/gflops"] / value["matmul_fp32"]
        assert value[f"{model}/matmul_pct"] == pytest.approx(share)
    if bf16:
        for path in ("imagelab", "bare"):  # the speed-up over the same path in float32
            ratio = value[f"cifar10_cnn/{path}_bf16_epoch"] / value[f"cifar10_cnn/{path}_epoch"]
            name = "bf16_ratio" if path == "imagelab" else "bare_bf16_ratio"
            assert value[f"cifar10_cnn/{name}"] == pytest.approx(ratio)
    assert (tmp_path / "results.png").stat().st_size > 0
    shown = []
    monkeypatch.setattr(report.extras, "_show", shown.append)
    report.show_benchmarks(tmp_path / "results.csv")
    assert "# How fast" in shown[0] and "cifar10_cnn" in shown[0]
    assert "peak memory" in shown[0] and "fresh process" in shown[0]  # the column, and how


@pytest.fixture
def fake_workers(monkeypatch):
    """Workers that answer at once: each call recorded, each epoch time made up (bfloat16 half
    of float32, a little slower at each call, so the minima are each path's first)."""
    calls = []

    class FakeWorker:
        def __init__(self, data_dir):
            pass

        def __call__(self, name, *args):
            calls.append((name, *args))
            if name not in ("imagelab_epoch", "bare_epoch"):
                return {"matmul_gflops": 100.0, "peak_mib": 500.0}.get(name)
            exercise, batches, epochs, number_format = args
            t = (1.0 if number_format == precision.BFLOAT16 else 2.0) * (1 + len(calls) / 100)
            seconds = [t * (1 + epoch % 2 / 10) for epoch in range(epochs - 1)]
            if name == "bare_epoch":
                return seconds
            return {"seconds": seconds, "flops": 1e9, "timed": f"{batches} of 9 batches"}

        def close(self):
            pass

    monkeypatch.setattr(bench, "Worker", FakeWorker)
    return calls


def test_bf16_paths_alternate_with_float32_and_their_minima_come_from_the_epochs(fake_workers):
    rows, timed = bench.time_models("data", {"dense_mnist": 1, "cnn_mnist": 2}, repeats=2,
                                    epochs=3, size=8, bf16=("cnn_mnist",))  # fmt: skip
    paths = [(c[0].removesuffix("_epoch"), c[-1]) for c in fake_workers
             if c[1:2] == ("cnn_mnist",) and c[3] == 3]  # fmt: skip
    order = [("imagelab", precision.FLOAT32), ("bare", precision.FLOAT32),
             ("imagelab", precision.BFLOAT16), ("bare", precision.BFLOAT16)]  # fmt: skip
    assert paths == order + order[::-1]  # the order reversed at each repeat, as in float32
    assert all(c[-1] == precision.FLOAT32 for c in fake_workers if c[1:2] == ("dense_mnist",))
    results = pd.DataFrame(rows, columns=["name", "value", "unit"])
    epochs = pd.DataFrame(timed, columns=["exercise", "path", "repeat", "epoch", "seconds"])
    assert set(epochs["path"]) == {"imagelab", "bare", "imagelab_bf16", "bare_bf16"}
    assert len(epochs) == 2 * (2 + 4) * 2  # 2 repeats x (2 + 4 paths) x 2 timed epochs
    _minima_come_from_the_epochs(results, epochs)
    value = results.set_index("name")["value"]
    bf16 = sorted(n.removeprefix("cnn_mnist/") for n in value.index if "bf16" in n)
    assert bf16 == sorted(PER_BF16_MODEL)  # the CNN's, and none for the dense net
    assert value["cnn_mnist/bf16_ratio"] == pytest.approx(
        value["cnn_mnist/imagelab_bf16_epoch"] / value["cnn_mnist/imagelab_epoch"]
    )
    assert value["cnn_mnist/bare_bf16_ratio"] == pytest.approx(
        value["cnn_mnist/bare_bf16_epoch"] / value["cnn_mnist/bare_epoch"]
    )


def test_peak_memory_is_each_path_alone_in_a_fresh_process_the_highest_kept(monkeypatch):
    """The timing workers keep what earlier models left; a peak comes from a process that trains
    one model of one path, as a script does, and the highest of the repeats is written."""
    started, peaks = [], iter([700.0, 900.0, 650.0, 500.0, 800.0, 600.0, 700.0, 950.0])

    class FreshWorker:
        def __init__(self, data_dir):
            self.calls = []
            started.append(self.calls)

        def __call__(self, name, *args):
            self.calls.append((name, *args))
            return next(peaks) if name == "peak_mib" else None

        def close(self):
            self.calls.append(("close",))

    monkeypatch.setattr(bench, "Worker", FreshWorker)
    paths = {"imagelab": ("imagelab", precision.FLOAT32), "bare": ("bare", precision.FLOAT32),
             "imagelab_bf16": ("imagelab", precision.BFLOAT16),
             "bare_bf16": ("bare", precision.BFLOAT16)}  # fmt: skip
    rss = bench.peak_alone("data", "cnn_mnist", 40, paths, repeats=2)
    assert len(started) == 4 * 2  # a new process for every measurement
    for calls in started:  # each trains one path once, its peak window opened after the start
        assert [c[0] for c in calls] == ["reset_peak", calls[1][0], "peak_mib", "close"]
        assert calls[1][1:4] == ("cnn_mnist", 40, bench.PEAK_EPOCHS)
    trained = [(calls[1][0].removesuffix("_epoch"), calls[1][4]) for calls in started]
    assert trained == [paths[p] for p in [*paths, *reversed(paths)]]  # alternating, as the timing
    # the highest of each path's two: imagelab 700|950, bare 900|700, bf16 650|600, bare_bf16 500|800
    assert rss == {"imagelab": 950.0, "bare": 900.0, "imagelab_bf16": 650.0, "bare_bf16": 800.0}


def test_bf16_is_skipped_in_one_line_where_the_cpu_cannot(fake_workers, tmp_path, monkeypatch,
                                                          capsys):  # fmt: skip
    reason = "this CPU (a test's) has neither AVX512_BF16 nor AMX"
    monkeypatch.setattr(precision, "unsupported", lambda setup=None: reason)
    monkeypatch.setattr(bench, "time_papermill", lambda repeats: [])  # starts a kernel
    bench.main(["--smoke", "--out", str(tmp_path)])
    said = [line for line in capsys.readouterr().out.splitlines() if "bfloat16" in line]
    assert said == [f"bfloat16 paths skipped: {reason}"]
    assert all(c[-1] == precision.FLOAT32 for c in fake_workers if c[0].endswith("_epoch"))
    results = pd.read_csv(tmp_path / "results.csv")
    names = set(results["name"])
    assert {f"{m}/{what}" for m in SMOKE_MODELS for what in PER_MODEL} <= names
    assert not [name for name in names if "bf16" in name]
    epochs = pd.read_csv(tmp_path / "epochs.csv")
    assert set(epochs["path"]) == {"imagelab", "bare"}
    _minima_come_from_the_epochs(results, epochs)


def test_report_shows_nothing_without_benchmarks(tmp_path, monkeypatch):
    from imagelab import report

    shown = []
    monkeypatch.setattr(report.extras, "_show", shown.append)
    report.show_benchmarks(tmp_path / "missing.csv")
    assert shown == []


def test_the_committed_benchmark_finds_imagelab_no_heavier_than_bare_keras():
    """Issue 39: the images stay uint8 until a batch is gathered and the test set is predicted one
    batch per call, so imagelab's peak memory is at or below the bare script's (which scales the
    whole arrays to float32 up front) for every exercise and number format the committed
    benchmark measured, each path alone in a fresh process; CIFAR-10 under 3 GiB."""
    results = pd.read_csv(ROOT / "benchmarks" / "results.csv").set_index("name")
    peaks = {
        name.removesuffix("_peak_rss"): v
        for name, v in results["value"].items()
        if name.endswith("_peak_rss")
    }
    assert all(
        "fresh process" in unit for unit in results.loc[[f"{k}_peak_rss" for k in peaks], "unit"]
    )
    pairs = [(key, key.replace("/imagelab", "/bare")) for key in peaks if "/imagelab" in key]
    assert len(pairs) >= 8  # five exercises in float32, the three CNNs in bfloat16
    heavier = sorted(ours for ours, bare in pairs if peaks[ours] > peaks[bare])
    assert heavier == [], heavier
    assert peaks["cifar10_cnn/imagelab"] < 3 * 1024
