"""The report: rendered from a synthetic results folder, its text follows the numbers."""

import datetime as dt
import json
import re

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from imagelab import data, plots, records, report
from imagelab.judging import reproductions
from imagelab.results import exercises, store
from imagelab.results.freshness import current_fingerprint
from imagelab.running import runs

from .conftest import seal_run


def _fake_run(results_dir, name, train_acc, val_acc, test_acc, epochs=4, exercise=None, **stored):
    """A finished run's files, with chosen accuracies (no training): a run of ``exercise``
    (default: the exercise ``name``) with its canonical settings updated by ``stored``
    (``fingerprint`` among them replaces the current one)."""
    files = records.run_files(name, results_dir)
    rows = []
    for epoch in range(1, epochs + 1):
        ramp = epoch / epochs
        for metric, data_split, value in (
            ("loss", "training", 1 - train_acc * ramp),
            ("acc", "training", train_acc * ramp),
            ("loss", "validation", 1 - val_acc * ramp),
            ("acc", "validation", val_acc * ramp),
        ):
            rows.append((epoch, value, metric, data_split, 2.0 + epoch / 10))
    history = pd.DataFrame(rows, columns=records.HISTORY_COLUMNS)
    history.loc[history["epoch"] > epochs - 3, "value"] = history.loc[
        history["epoch"] > epochs - 3
    ].apply(
        lambda r: {"acc": {"training": train_acc, "validation": val_acc}}.get(r.metric, {}).get(
            r.data, r.value
        ),
        axis=1,
    )
    records.write_csv(history, files.history)
    score = {"loss": 1 - test_acc, "acc": test_acc}
    records.write_csv(pd.DataFrame([score]), files.score)
    exercise = exercises.get_exercise(exercise or name)
    index = np.arange(data.KNOWN_SIZES[exercise.dataset]["n_test"])  # every verified test image
    true = index % 10
    predictions = pd.DataFrame(
        {"index": index, "true": true, "predicted": (true + (index % 3 == 0)) % 10}
    )
    records.write_csv(predictions, files.predictions)
    images = np.random.default_rng(0).random(
        (20, 28, 28, 1) if exercise.dataset == "mnist" else (20, 32, 32, 3)
    )
    classes = data.CLASS_NAMES[exercise.dataset]
    plots.save(plots.history(history), files.figure("history"))
    plots.save(plots.confusion(predictions, classes), files.figure("confusion"))
    misclassified = plots.misclassified(predictions.head(20), images, classes)
    plots.save(misclassified, files.figure("misclassified"))
    plt.close("all")
    fingerprint = stored.pop("fingerprint", current_fingerprint(exercise.name))
    settings = exercises.settings_of(exercises.notebook_defaults(exercise.name)) | stored
    checksums = {
        k: v for k, v in data.KNOWN_CHECKSUMS[exercise.dataset].items() if k in data.ARRAYS
    }
    provenance = store.build_provenance(
        run_name=name,
        exercise=exercise.name,
        notebook=f"notebooks/{exercise.notebook}",
        parameters=settings,
        data={"dataset": exercise.dataset, "checksums": checksums, "verified_against": "test"}
        | data.KNOWN_SIZES[exercise.dataset],
        score=score,
        started=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        epoch_seconds=[2.1, 2.2, 2.3, 2.4][:epochs],
        train_seconds=10.0,
        cpu_seconds=18.0,
        fingerprint=fingerprint,
        git={"commit": "0" * 40, "dirty": False},
    )
    provenance["machine"] |= {"cpu": "test cpu", "cores": 2, "platform": "test"}
    del provenance["load_average"]  # as in runs that recorded none: the summary shows "-"
    # Twelve seconds from start to finish: the ten of training, its epochs' nine among them.
    times = {"finished": "2026-01-01T00:00:12+00:00", "wall_seconds": 12.0}
    records.write_json(provenance | times, files.provenance)
    seal_run(files)


ACCURACIES = {  # train, validation, test; cnn_mnist overfits badly (0.999 against 0.80)
    "dense_mnist": (0.92, 0.918, 0.9187),
    "relu_mnist": (0.99, 0.975, 0.9776),
    "cnn_mnist": (0.999, 0.80, 0.8123),
    "cnn_dropout_mnist": (0.985, 0.984, 0.9861),
    "cifar10_cnn": (0.70, 0.69, 0.6512),
}


def _synthetic(folder):
    for name, accuracies in ACCURACIES.items():
        _fake_run(folder, name, *accuracies)
    return folder


@pytest.fixture
def synthetic_results(tmp_path):
    """Five exercises' results, made up but well-formed (see ACCURACIES)."""
    return _synthetic(tmp_path / "results")


@pytest.fixture(scope="module")
def report_text(tmp_path_factory):
    """The markdown the report notebook renders from the synthetic results (executed once)."""
    folder = tmp_path_factory.mktemp("report")
    return _execute_report(_synthetic(folder / "results"), folder / "report.ipynb")


def _execute_report(results_dir, out):
    """The report's text: its markdown cells and the markdown its code cells display."""
    import nbformat

    runs.execute(report.REPORT_NOTEBOOK, out, {"results_dir": str(results_dir)}, log_output=False)
    notebook = nbformat.read(out, as_version=4)
    return "\n".join(
        text
        for cell in notebook.cells
        for text in (
            [cell["source"]]
            if cell["cell_type"] == "markdown"
            else [o.get("data", {}).get("text/markdown", "") for o in cell.get("outputs", [])]
        )
    )


def test_report_says_a_model_overfits_when_its_validation_lags(report_text):
    text = report_text
    cnn = text.split("## Convolutional network (MNIST)")[1].split(
        "## Convolutional network with dropout"
    )[0]
    assert "**Overfits**" in cnn and "0.9990" in cnn and "0.8000" in cnn
    dense = text.split("## Dense network, no activation")[1].split("## Dense network, ReLU")[0]
    assert "generalises well" in dense


def test_report_compares_with_2019_and_flags_the_jpeg_cifar(report_text):
    text = report_text
    assert "0.9801" in text and "0.9867" in text and "0.6429" in text  # the 2019 numbers
    assert "decoded from JPEG files" in text
    # The abstract's comparison says it too, not only the CIFAR-10 section.
    assert "cifar10_cnn 0.6512 (2019: 0.6429, on the original; ours is a JPEG-derived copy)" in text
    # 2019 expected ReLU to do worse on the test set than the linear network; here it did better.
    assert "**Better than linear** (on 1 of 1 seeds): test accuracy" in text
    assert "Yamins" in text


def test_summary_shows_scores_to_four_decimals_and_leaves_times_to_the_answers(report_text):
    summary = report_text.split("# Summary: 2019 against now")[1]
    row = next(line for line in summary.splitlines() if line.startswith("| dense_mnist"))
    cells = [cell.strip() for cell in row.strip(" |").split("|")]
    assert cells[2] == "0.9187"  # test accuracy
    # Times are answered once, by questions 2 and 21 (the benchmark's, its machine named).
    assert len(cells) == 6 and "answered once, by questions 2 and 21" in summary


def test_missing_exercise_leaves_a_note_not_an_error(synthetic_results, tmp_path):
    for path in synthetic_results.glob("*/dense_mnist*"):  # never run: none of its files
        path.unlink()
    text = _execute_report(synthetic_results, tmp_path / "report.ipynb")
    assert "dense_mnist: no results yet" in text
    assert "Q10:" not in text  # relu_mnist against the linear network: nothing to compare


def test_damaged_results_are_left_out_with_a_note_when_the_report_goes_on(
    synthetic_results, tmp_path
):
    # What `imagelab report --allow-missing` renders: the checks let it past damaged runs.
    history = records.run_files("dense_mnist", synthetic_results).history
    history.write_bytes(history.read_bytes()[:40])
    figure = records.run_files("relu_mnist", synthetic_results).figure("confusion")
    figure.write_bytes(figure.read_bytes()[:200])  # a PNG that does not decode
    text = _execute_report(synthetic_results, tmp_path / "report.ipynb")
    assert "dense_mnist: left out, its results are damaged: " in text
    assert "relu_mnist: left out, its results are damaged: " in text
    assert "Q10:" not in text and "Q9:" not in text  # relu_mnist is out, dense_mnist too


def test_results_of_older_training_code_are_flagged_in_their_section(synthetic_results, tmp_path):
    provenance = records.run_files("cnn_mnist", synthetic_results).provenance
    stored = json.loads(provenance.read_text())
    stored["fingerprint"]["code_sha256"] = "0" * 64  # trained before a training-code change
    records.write_json(stored, provenance)
    text = _execute_report(synthetic_results, tmp_path / "report.ipynb")
    assert text.count("by training code or a notebook that has changed since") == 1
    assert "Convolutional network (MNIST)\n*These results were trained at commit 0000000" in text


def test_pdf_and_html_need_only_pip_and_carry_the_inputs_digest(synthetic_results, tmp_path):
    import pypdf

    pdf = report.render(
        out_dir=tmp_path / "report",
        parameters={"results_dir": str(synthetic_results)},
        quiet=True,
    )
    assert (tmp_path / "report" / "report.html").stat().st_size > 100_000  # figures embedded
    reader = pypdf.PdfReader(pdf)
    text = "\n".join(page.extract_text() for page in reader.pages)
    for name in exercises.EXERCISES:
        acc = store.load_run(name, synthetic_results).score["acc"]
        assert f"{acc:.4f}" in text, name
    assert "def " not in text and "import " not in text  # code cells are hidden
    assert "IPython.core.display" not in text
    assert re.search(r"Figure\s1:", text)  # captions, numbered (Typst puts a no-break space)
    assert "Contents" in text and "Abstract" in text
    assert 6 <= len(reader.pages) <= 20
    assert reader.metadata["/Keywords"] == report.inputs_digest(results_dir=synthetic_results)


def test_inputs_digest_changes_when_a_result_file_changes(synthetic_results):
    before = report.inputs_digest(results_dir=synthetic_results)
    assert before == report.inputs_digest(results_dir=synthetic_results)
    named = report.input_files(results_dir=synthetic_results)
    assert (
        "results/scores/cnn_mnist.json" in named
        and "results/figures/cnn_mnist_history.png" in named
    )
    score = records.run_files("cnn_mnist", synthetic_results).score
    score.write_text(score.read_text().replace("0.8123", "0.8124"))
    assert report.inputs_digest(results_dir=synthetic_results) != before


def _contended(results_dir, name):
    """Mark a run as trained while other jobs shared the cores (load 5 on 2 cores)."""
    path = records.run_files(name, results_dir).provenance
    stored = json.loads(path.read_text())
    stored["load_average"] = {"start": [5.0, 4.0, 3.0], "end": [5.1, 4.0, 3.0]}
    records.write_json(stored, path)


def _benchmark(path, seconds):
    rows = [{"name": f"{n}/imagelab_epoch", "value": s} for n, s in seconds.items()]
    records.write_csv(pd.DataFrame(rows), path)
    return path


def _said(results_dir, benchmarks):
    """The timing answers' details by question (``conclusions.Answer.detail``)."""
    from imagelab.judging import conclusions

    found = conclusions.answer_all(conclusions.gather(results_dir, benchmarks=benchmarks))
    return {answer.question: answer.detail for answer in found}


def test_contended_runs_draw_no_timing_conclusion(synthetic_results, tmp_path, monkeypatch):
    for name in ("dense_mnist", "cnn_mnist", "cnn_dropout_mnist", "cifar10_cnn"):
        _contended(synthetic_results, name)
    no_bench = tmp_path / "missing.csv"
    said = _said(synthetic_results, no_bench)
    for question in ("Q2", "Q16", "Q21"):
        assert "2.3 s" not in said[question] and "An epoch took" not in said[question], question
    assert "draw no conclusion" in said["Q2"] and "No idle measurement" in said["Q21"]
    assert "no idle measurement of the two networks exists. The runs trained on" in said["Q16"]
    table = report.summary_table(list(exercises.EXERCISES), synthetic_results, no_bench)
    contended = table.set_index("exercise").loc["cnn_mnist"]
    assert np.isnan(contended["s_per_epoch"]) and contended["time_source"] == "none (contended)"
    assert table.set_index("exercise").loc["relu_mnist", "time_source"] == "run"

    # With the benchmark's idle numbers, those are used, and the text says so.
    bench = _benchmark(tmp_path / "results.csv", {"cnn_mnist": 62.4, "cnn_dropout_mnist": 64.4,
                                                  "cifar10_cnn": 83.7, "dense_mnist": 2.26})  # fmt: skip
    said = _said(synthetic_results, bench)
    assert "64.4 s against 62.4 s for cnn_mnist (+2.0 s), by the benchmark's idle" in said["Q16"]
    assert "An epoch takes 83.7 s by the benchmark's idle measurement" in said["Q21"]
    assert "1.4x as long" in said["Q21"]  # 120 / 83.7, not 120 / 2.3
    shown = []
    monkeypatch.setattr(report.summary, "_show", shown.append)
    monkeypatch.setattr("IPython.display.display", lambda *a, **k: None)
    report.show_summary(list(exercises.EXERCISES), synthetic_results, bench)
    row = next(line for line in shown[0].splitlines() if line.startswith("| cnn_mnist"))
    assert "62.4" not in row and "2.3" not in row  # times are answered once, elsewhere
    assert "answered once, by questions 2 and 21" in shown[0]


def test_timing_answers_come_from_the_benchmark_even_for_uncontended_runs(
    synthetic_results, tmp_path, monkeypatch
):
    # One answer per question: where the benchmark covers an exercise, Q2, Q16, Q21 and the
    # summary's s/epoch are its numbers, and the runs' own epochs only stand beside them.
    bench = _benchmark(tmp_path / "results.csv", {"cnn_mnist": 62.4, "cnn_dropout_mnist": 64.4,
                                                  "dense_mnist": 2.26})  # fmt: skip
    said = _said(synthetic_results, bench)
    assert said["Q2"].startswith("An epoch takes 2.3 s by the benchmark's idle measurement")
    assert "For comparison, the run's own epochs" in said["Q2"]
    timing = said["Q16"].split("A training epoch ")[1]  # after the gap sentence
    assert timing.startswith("takes 64.4 s against 62.4 s for cnn_mnist (+2.0 s)")
    assert "For comparison, the run's own epochs" in timing
    # cifar10_cnn has no benchmark here: its own uncontended epochs answer, and say so.
    assert "These are the run's own epochs (no benchmark of this network)" in said["Q21"]
    table = report.summary_table(list(exercises.EXERCISES), synthetic_results, bench)
    table = table.set_index("exercise")
    assert table.loc["cnn_mnist", "s_per_epoch"] == 62.4
    assert table.loc["cnn_mnist", "time_source"] == "benchmark"
    assert table.loc["cnn_mnist", "run_s_per_epoch"] != 62.4
    assert table.loc["cifar10_cnn", "time_source"] == "run"
    assert table.loc["cifar10_cnn", "s_per_epoch"] == table.loc["cifar10_cnn", "run_s_per_epoch"]


def test_seeds_table_collects_canonical_settings_from_sweeps(synthetic_results, tmp_path):
    sweep = tmp_path / "sweeps" / "some_sweep"
    for seed, acc, fingerprint in ((1, 0.985, None), (2, 0.987, None), (4, 0.5, {})):
        stored = {"seed": seed} | ({"fingerprint": fingerprint} if fingerprint is not None else {})
        # seed 4 was trained by older code: left out
        _fake_run(sweep, f"run{seed}", 0.99, 0.98, acc, exercise="cnn_mnist", **stored)
    # not a canonical setting: left out
    _fake_run(sweep, "x", 0.99, 0.98, 0.5, exercise="cnn_mnist", seed=3, dropout=0.25)
    # exercise 3's notebook at 2019's dropout: exercise 4's settings
    _fake_run(sweep, "dropout", 0.99, 0.98, 0.99, exercise="cnn_mnist", seed=5, dropout=0.5)
    table = pd.read_csv(runs.collect_seeds(tmp_path / "sweeps", synthetic_results))
    cnn = table[table["run"] == "cnn_mnist"]
    assert sorted(cnn["seed"]) == [1, 2, 2019] and 0.5 not in set(cnn["acc"])
    assert sorted(table.query("run == 'cnn_dropout_mnist'")["seed"]) == [5, 2019]
    assert set(table["run"]) == set(exercises.EXERCISES)
    text = _execute_report(synthetic_results, tmp_path / "report.ipynb")
    assert "test accuracy over 3 seeds" in text


def test_reproduction_checks_put_each_keras2_variant_beside_our_seeds(tmp_path, monkeypatch):
    results, studies = tmp_path / "results", tmp_path / "studies"
    seeds = {
        "run": ["relu_mnist"] * 3 + ["cnn_mnist"],
        "seed": [1, 2, 9, 1],
        "acc": [0.9800, 0.9806, 0.9800999760627747, 0.99],  # float32 0.9801
    }
    sources = []  # each row's run, stored: seeds.csv is checked against them
    for run, seed, acc in zip(*seeds.values(), strict=True):
        _fake_run(tmp_path / "sweep", f"{run}-{seed}", 0.99, 0.98, acc, exercise=run, seed=seed)
        sources.append(str(records.run_files(f"{run}-{seed}", tmp_path / "sweep").provenance))
    seeds |= {"loss": [1 - acc for acc in seeds["acc"]], "source": sources}
    records.write_csv(pd.DataFrame(seeds), records.run_files("seeds", results).score)
    records.write_csv(
        pd.DataFrame(
            {"loss_rule": ["keras2_clipped"] * 2, "seed": [1, 2], "test_acc": [0.9775, 0.9790]}
        ),  # fmt: skip
        studies / "keras2_loss.csv",
    )
    records.write_csv(  # both orders, for the ReLU and the linear network
        pd.DataFrame(
            {
                "order": ["keras3_repeated", "reshuffled"] * 4,
                "activation": ["relu"] * 4 + ["linear"] * 4,
                "seed": [1, 1, 2, 2] * 2,
                "test_acc": [0.9780, 0.9800, 0.9770, 0.9806, 0.92, 0.92, 0.92, 0.92],
                "val_loss_mean_abs_change": [0.01] * 4 + [0.0020, 0.0080, 0.0040, 0.0100],
            }
        ),  # fmt: skip
        studies / "keras3_shuffle.csv",
    )
    table = report.reproduction_table(studies, results)
    assert list(table.columns) == [
        "seed",
        "Keras 3 fit (one order, repeated)",
        "Keras 2 clipped cross-entropy (order repeated)",
        "Reshuffled every epoch (Keras 2)",
        "Our runs now (scores/seeds.csv)",
    ]
    assert table["seed"].tolist() == [1, 2, 9]  # seeds no study ran are kept
    assert table["Reshuffled every epoch (Keras 2)"].dropna().tolist() == [0.9800, 0.9806]
    shown = []
    monkeypatch.setattr(report.studies, "_show", shown.append)
    report.show_reproduction_checks(studies, results)
    assert "Keras 3 fit (one order, repeated): mean 0.9775 over 2 seeds" in shown[0]
    assert "Reshuffled every epoch (Keras 2): mean 0.9803 over 2 seeds (range 0.9800-0.9806); " \
        "1 of 2 reach 2019's 0.9801" in shown[0]  # fmt: skip
    assert "Our runs now (scores/seeds.csv): mean 0.9802 over 3 seeds" in shown[0]
    assert "2 of 3 reach 2019's 0.9801" in shown[0]  # 0.9801 itself counts
    assert "ours moved 0.0030 with one order repeated and 0.0090 reshuffled" in shown[0]
    assert "2019's validation loss moved 0.0096 per epoch" in shown[0]  # its dense history
    shown.clear()
    report.show_reproduction_checks(tmp_path / "no_studies", results)
    assert shown == []  # nothing to compare: no section


def test_history_beside_2019_draws_every_run_and_split_per_metric():
    theirs = records.read_history(report.HISTORY_2019)
    ours = theirs.assign(value=theirs["value"] * 0.99)
    figure = plots.histories_compared({"now": ours, "2019": theirs})
    for ax, metric in zip(figure.axes, ("loss", "acc"), strict=True):
        assert ax.get_ylabel() == metric
        labels = [line.get_label() for line in ax.lines]
        assert labels == ["now, training", "now, validation", "2019, training", "2019, validation"]
        drawn = ax.lines[2].get_ydata()  # 2019's training curve, epochs 1-12
        expected = theirs.query("metric == @metric and data == 'training'")["value"]
        assert list(drawn) == list(expected)
    plt.close(figure)


def test_environment_names_the_floating_point_path_when_provenance_has_it():
    old = {"cpu": "AMD EPYC", "cores": 2, "platform": "Linux"}
    assert report.summary.machine_sentence(old) == "AMD EPYC, 2 cores, Linux."
    new = old | {"cpu_family_model_stepping": ["25", "17", "1"], "isa_flags": ["avx2", "amx_bf16"],
                 "onednn": True, "intra_op_threads": 0, "inter_op_threads": 2, "device": "CPU"}  # fmt: skip
    text = report.summary.machine_sentence(new)
    assert "AMD EPYC (family 25 model 17)" in text and "ISA features avx2 amx_bf16" in text
    assert "oneDNN on" in text and "intra-op default (one per core), inter-op 2" in text


def test_the_epoch_profile_paragraph_says_what_the_study_measured(tmp_path):
    from imagelab.report import extras

    assert extras._steps_per_call(tmp_path) == ""  # no study: no paragraph
    rows = [("profile", "dense_mnist", "epoch under cProfile", 1.42, None),
            ("profile", "dense_mnist", "inside TFE_Py_Execute", 0.84, None),
            ("profile", "dense_mnist", "calls into TensorFlow", 469, None),
            ("parts", "dense_mnist", "pipeline", 0.11, None),
            ("parts", "dense_mnist", "validation", 0.24, None),
            ("steps per call", "dense_mnist", "1", 1.30, "aa"),
            ("steps per call", "dense_mnist", "375", 0.70, "aa"),
            ("every exercise", "cnn_mnist", "1", 26.0, "bb"),
            ("every exercise", "cnn_mnist", "32", 25.0, "bb")]  # fmt: skip
    columns = ["part", "exercise", "setting", "seconds", "weights_sha256"]
    pd.DataFrame(rows, columns=columns).to_csv(tmp_path / extras.PROFILE_STUDY, index=False)
    text = extras._steps_per_call(tmp_path)
    assert "took 1.30 s; with all 375 steps in one call, 0.70 s" in text
    assert "0.60 s or 1.6 ms per training step" in text and "0.84 s of 1.42 s" in text
    assert (
        "the same weights to the last bit" in text
        and "| cnn_mnist  | 26.00 s           | 25.00 s             | 0.96x   |" in text
    )
    rows[-1] = (*rows[-1][:4], "cc")  # 32 steps per call trained other weights
    pd.DataFrame(rows, columns=columns).to_csv(tmp_path / extras.PROFILE_STUDY, index=False)
    assert "**other weights**" in extras._steps_per_call(tmp_path)


def test_the_lab_projection_names_the_last_real_lab_when_the_benchmark_read_it():
    from imagelab.report import extras

    value = pd.Series({"matmul_fp32": 200.0, "dense_mnist/imagelab_epoch": 1.0,
                       "dense_mnist/gflops": 100.0})  # fmt: skip
    projected = extras._lab_floor(value, ["dense_mnist"])  # 12 epochs of 1 s: well under a minute
    assert projected.startswith("At these speeds the five trainings of `make lab` take 0 min. ")
    ran = extras._lab_floor(pd.concat([value, pd.Series({"make_lab/wall_seconds_sum": 1150.0})]),
                            ["dense_mnist"])  # fmt: skip
    assert "take 0 min (the last `make lab` took 19 min on the machine that trained the " in ran


# --- bfloat16 against float32 (report.precision) ---------------------------------------------


@pytest.fixture
def float32_runs(tmp_path):
    """Three exercises' float32 runs (dense_mnist and cnn_dropout_mnist have none), made up as
    in ACCURACIES."""
    for name in ("relu_mnist", "cnn_mnist", "cifar10_cnn"):
        _fake_run(tmp_path / "results", name, *ACCURACIES[name])
        _on_machine(tmp_path / "results", name)
    return tmp_path / "results"


def _on_machine(results_dir, name, cpu="test cpu", family_model_stepping=("6", "85", "7")):
    """Record that the run trained on ``cpu`` with that family, model and stepping."""
    path = records.run_files(name, results_dir).provenance
    stored = json.loads(path.read_text())
    stored["machine"] |= {"cpu": cpu, "cpu_family_model_stepping": list(family_model_stepping)}
    records.write_json(stored, path)


def _bf16_run(results_dir, exercise, test_acc, **machine):
    """``<exercise>_bf16``: its own accuracy, 1.2 s epochs and 6 training seconds, on the
    float32 runs' machine or ``machine`` (``_on_machine``'s arguments)."""
    name = f"{exercise}_bf16"
    _fake_run(results_dir, name, 0.99, 0.98, test_acc, exercise=exercise,
              precision="mixed_bfloat16")  # fmt: skip
    _on_machine(results_dir, name, **machine)
    path = records.run_files(name, results_dir).provenance
    stored = json.loads(path.read_text())
    stored |= {"train_seconds": 6.0, "epoch_seconds": [1.6, 1.1, 1.2, 1.3]}
    records.write_json(stored, path)


def _verdicts(path, *rows):
    """A verify record with (run, verdict, date[, conclusions]) rows, as `imagelab verify
    --record` writes them under today's rule."""
    for run, verdict, date, *conclusions in rows:
        reproductions.append(
            {"date": date, "commit": "0" * 12, "cpu": "test cpu", "isa": "avx2", "onednn": "on",
             "threads": "all", "tensorflow": "2.21.0", "keras": "3.15.1", "numpy": "2.4.6",
             "python": "3.11.7", "run": run, "verdict": verdict, "d_acc": 0.0004,
             "d_loss": 0.001, "max_d_history": 0.002, "seconds": 6.0, "rule": "1.3 x farthest seed pair",
             "d_history": 0.001, "ratio_acc": 0.5, "ratio_loss": 0.4, "ratio_history": 0.3,
             "closer": 0.4, "conclusions": conclusions[0] if conclusions else "same"},
            path,
        )  # fmt: skip
    return path


def _shown_precision(monkeypatch, *args):
    shown = []
    monkeypatch.setattr(report.precision, "_show", shown.append)
    report.show_precision(list(exercises.EXERCISES), *args)
    return "\n".join(shown)


def _row(text, exercise):
    line = next(line for line in text.splitlines() if line.startswith(f"| {exercise} "))
    return [cell.strip() for cell in line.strip(" |").split("|")]


def test_bfloat16_table_has_a_row_per_stored_run_and_the_latest_verdict_recorded_since(
    float32_runs, tmp_path, monkeypatch
):
    for exercise, acc in (
        ("relu_mnist", 0.9771),
        ("cnn_mnist", 0.8119),
        ("cifar10_cnn", 0.6498),
        ("cnn_dropout_mnist", 0.9855),
    ):  # the last without a float32 run
        _bf16_run(float32_runs, exercise, acc)  # fmt: skip
    record = _verdicts(
        tmp_path / "verify.csv",
        ("cnn_mnist_bf16", "outside", "2026-02-01T10:00:00+00:00"),
        ("cnn_mnist_bf16", "within seed noise", "2026-02-02T10:00:00+00:00"),  # the latest
        ("cnn_mnist", "identical", "2026-02-03T10:00:00+00:00"),  # a float32 reproduction
        ("relu_mnist_bf16", "within seed noise", "2025-12-31T10:00:00+00:00"),  # before training
    )
    bench = tmp_path / "results.csv"
    records.write_csv(pd.DataFrame({"name": ["cnn_mnist/imagelab_bf16_epoch", "cnn_mnist/bf16_ratio",
                                             "relu_mnist/bare_bf16_ratio"],  # bare Keras's: not ours
                                    "value": [11.0, 0.4512, 0.5], "machine": "bench cpu",
                                    "date": "2026-03-01T00:00:00+00:00"}), bench)  # fmt: skip
    table = report.precision_table(list(exercises.EXERCISES), float32_runs, bench, record)
    assert table["exercise"].tolist() == ["relu_mnist", "cnn_mnist", "cnn_dropout_mnist",
                                          "cifar10_cnn"]  # the lab's order  # fmt: skip
    row = table.set_index("exercise").loc["cnn_mnist"]
    assert (row["acc_fp32"], row["acc_bf16"]) == (0.8123, 0.8119)
    assert (row["epoch_fp32"], row["epoch_bf16"]) == (2.3, 1.2)  # medians of epochs 2 onwards
    assert table["verdict"].tolist() == [report.precision.STALE, "within seed noise",
                                         report.precision.NOT_JUDGED, report.precision.NOT_JUDGED]  # fmt: skip
    _contended(float32_runs, "cifar10_cnn_bf16")
    text = _shown_precision(monkeypatch, float32_runs, bench, record)
    assert _row(text, "CNN (MNIST)") == ["CNN (MNIST)", "0.8123", "0.8119", "0.1877", "0.1881", "2.3",
                                       "1.2", "0.45x", "within seed noise", "same"]  # fmt: skip
    assert _row(text, "dense, ReLU")[-3] == "-"  # no benchmark ratio for it
    assert _row(text, "CNN with dropout")[1:7] == ["-", "0.9855", "-", "0.0145", "-", "1.2"]
    assert "its ratio of fastest epochs, bfloat16 over float32" in text
    assert "bench cpu, 2026-03-01" in text and "each run's own epochs" in text
    assert text.startswith("The same conclusions: each of the 1 judged bfloat16 run reaches every")
    assert "0.45-0.45 times the float32 time for the 1 exercise the benchmark times in both (the " \
        "benchmark's fastest epochs on bench cpu" in text  # fmt: skip
    assert "On the numbers: 1 within seed noise, 1 not judged since trained, 2 not judged yet." \
        in text  # fmt: skip
    assert "Joining `make lab PRECISION=bf16` (the same conclusions and a test accuracy within " \
        "seed noise): cnn_mnist." in text  # fmt: skip
    assert "Training the 3 exercises with both runs took 18.0 s in bfloat16 against 30.0 s in " \
        "float32 (0.60x" in text  # fmt: skip
    assert "both on test cpu (family 6 model 85), 2 cores." in text and "not a speed-up" not in text
    assert "cifar10_cnn_bf16 (1-minute load up to 5.1 on 2 cores" in text
    assert "Not trained in bfloat16 yet: dense_mnist." in text


def test_bfloat16_runs_on_another_cpu_are_not_called_a_speed_up(
    float32_runs, tmp_path, monkeypatch
):
    _bf16_run(float32_runs, "cnn_mnist", 0.8119, cpu="AMD EPYC",
              family_model_stepping=("26", "2", "0"))  # fmt: skip
    absent = tmp_path / "absent.csv"
    text = _shown_precision(monkeypatch, float32_runs, absent, absent)
    assert "The float32 runs were trained on test cpu (family 6 model 85), 2 cores, the bfloat16 " \
        "runs on AMD EPYC (family 26 model 2), 2 cores: different CPUs" in text  # fmt: skip
    assert "compares different machines and is not a speed-up" in text
    assert text.startswith("No bfloat16 run is judged yet under today's rule")
    assert "On the numbers: 1 not judged yet." in text
    assert "benchmark" not in text  # no benchmark column or sentence without bf16 rows


def test_without_bfloat16_runs_the_section_says_how_to_make_them(
    float32_runs, tmp_path, monkeypatch
):
    record = _verdicts(tmp_path / "verify.csv", ("cnn_mnist", "identical", "2026-02-03T10:00:00Z"))
    text = _shown_precision(monkeypatch, float32_runs, None, record)
    assert text == report.precision.NO_RUNS and "`make lab PRECISION=bf16`" in text


def test_the_report_notebook_shows_the_bfloat16_section(report_text):
    section = report_text.split("# bfloat16 against float32")[1].split("# Run environment")[0]
    assert report.precision.NO_RUNS in section  # the synthetic results have no bfloat16 run


def test_the_bfloat16_runs_enter_the_inputs_digest(float32_runs):
    before = report.inputs_digest(results_dir=float32_runs)
    _bf16_run(float32_runs, "cnn_mnist", 0.8119)
    named = report.input_files(results_dir=float32_runs)
    assert {"results/scores/cnn_mnist_bf16.json", "results/histories/cnn_mnist_bf16.csv"} <= set(
        named
    )
    assert report.inputs_digest(results_dir=float32_runs) != before
