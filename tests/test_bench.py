"""The benchmark's smoke mode runs end to end, so `make bench` cannot rot unnoticed."""

import subprocess
import sys

import pandas as pd
import pytest

from .conftest import ROOT

COLUMNS = ["name", "value", "unit", "machine", "date", "commit"]
PER_MODEL = ["imagelab_epoch", "bare_epoch", "ratio", "gflops", "matmul_pct",
             "imagelab_peak_rss", "bare_peak_rss"]  # fmt: skip


@pytest.mark.slow
def test_bench_smoke_writes_every_measurement_and_the_report_shows_them(tmp_path, monkeypatch):
    from imagelab import report

    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench.py"), "--smoke",
                    "--out", str(tmp_path)], check=True, cwd=ROOT, timeout=600)  # fmt: skip
    results = pd.read_csv(tmp_path / "results.csv")
    assert list(results.columns) == COLUMNS
    expected = {"matmul_fp32", "papermill/notebook", "papermill/in_process", "papermill/overhead"}
    expected |= {f"{m}/{what}" for m in ("dense_mnist", "cifar10_cnn") for what in PER_MODEL}
    assert expected <= set(results["name"])
    measured = results[results["name"].isin(expected - {"papermill/overhead"})]
    assert (measured["value"] > 0).all(), measured
    epochs = pd.read_csv(tmp_path / "epochs.csv")  # every timed epoch the minima come from
    assert list(epochs.columns) == ["exercise", "path", "repeat", "epoch", "seconds", "commit"]
    for (exercise, path), seconds in epochs.groupby(["exercise", "path"])["seconds"]:
        assert results.set_index("name").loc[f"{exercise}/{path}_epoch", "value"] == seconds.min()
    assert len(epochs) == 2 * 2  # two models x two paths x one repeat x one timed epoch (smoke)
    value = results.set_index("name")["value"]
    for model in ("dense_mnist", "cifar10_cnn"):  # against the run's best matmul, as the report
        share = 100 * value[f"{model}/gflops"] / value["matmul_fp32"]
        assert value[f"{model}/matmul_pct"] == pytest.approx(share)
    assert (tmp_path / "results.png").stat().st_size > 0
    shown = []
    monkeypatch.setattr(report.extras, "_show", shown.append)
    report.show_benchmarks(tmp_path / "results.csv")
    assert "# How fast" in shown[0] and "cifar10_cnn" in shown[0]


def test_report_shows_nothing_without_benchmarks(tmp_path, monkeypatch):
    from imagelab import report

    shown = []
    monkeypatch.setattr(report.extras, "_show", shown.append)
    report.show_benchmarks(tmp_path / "missing.csv")
    assert shown == []
