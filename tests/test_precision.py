"""bfloat16 runs: refused where the CPU cannot multiply in bfloat16, named apart from the
float32 canonical runs, fingerprinted by their precision; the float32 runs stay as they were."""

import pandas as pd
import pytest

from imagelab import data, precision, records
from imagelab.errors import UserError
from imagelab.judging import reproductions, verify, verify_precision
from imagelab.results import exercises, fingerprint, store
from imagelab.running import runs
from imagelab.running.run import start_run

from .test_verify import write_run

BF16_CPU = {"onednn": True, "onednn_max_cpu_isa": None, "isa_flags": ["avx2", "avx512_bf16"]}


@pytest.mark.parametrize(
    "setup, reason",
    [
        (BF16_CPU, None),
        (BF16_CPU | {"isa_flags": ["avx2", "amx_bf16"]}, None),
        (BF16_CPU | {"onednn_max_cpu_isa": "avx512_core_bf16"}, None),
        (BF16_CPU | {"isa_flags": ["avx2", "avx512f"], "cpu": "Old CPU"}, "has neither"),
        (BF16_CPU | {"onednn_max_cpu_isa": "AVX2"}, "ONEDNN_MAX_CPU_ISA=AVX2"),
        (BF16_CPU | {"onednn": False, "tf_enable_onednn_opts": "0"}, "oneDNN"),
    ],
    ids=["avx512_bf16", "amx", "cap-above", "no-bf16-cpu", "cap-avx2", "onednn-off"],
)
def test_bfloat16_needs_the_cpu_and_onednn_to_do_it(setup, reason):
    found = precision.unsupported(setup)
    assert found is None if reason is None else reason in found


def test_a_bfloat16_run_where_it_cannot_work_stops_before_loading_data(monkeypatch, tmp_path):
    monkeypatch.setattr(precision, "unsupported", lambda: "this CPU (X) has neither")
    monkeypatch.setattr(data, "load", lambda *a, **k: pytest.fail("loaded data"))
    namespace = exercises.notebook_defaults("cnn_mnist") | {
        "run_name": "try_bf16",
        "results_dir": str(tmp_path),
        "precision": "mixed_bfloat16",
    }
    with pytest.raises(UserError, match="Train in float32 instead"):
        start_run("cnn_mnist", namespace)


def _params(exercise, **changes):
    return exercises.notebook_defaults(exercise) | changes


def test_bfloat16_under_the_float32_canonical_name_is_refused_with_its_own_name():
    params = _params("cnn_mnist", precision="mixed_bfloat16")
    with pytest.raises(UserError, match="for example run_name='cnn_mnist_bf16'"):
        exercises.validate("cnn_mnist", params)


def test_the_bfloat16_canonical_name_takes_only_the_2019_settings_in_bfloat16():
    exercises.validate("cnn_mnist", _params("cnn_mnist", precision="mixed_bfloat16",
                                            run_name="cnn_mnist_bf16"))  # fmt: skip
    with pytest.raises(UserError, match="reserved for the canonical 2019 settings in mixed_bf"):
        exercises.validate("cnn_mnist", _params("cnn_mnist", run_name="cnn_mnist_bf16"))
    with pytest.raises(UserError, match="reserved for the relu_mnist exercise"):
        exercises.validate("cnn_mnist", _params("cnn_mnist", run_name="relu_mnist_bf16"))
    with pytest.raises(UserError, match="precision must be one of"):
        exercises.validate("cnn_mnist", _params("cnn_mnist", precision="float16", run_name="x"))


def test_the_fingerprint_tells_the_precisions_apart_and_leaves_float32_as_it_was():
    notebook = "notebooks/03_cnn_mnist.ipynb"
    float32 = fingerprint.fingerprint(notebook)
    bf16 = fingerprint.fingerprint(notebook, precision="mixed_bfloat16")
    assert "precision" not in float32  # the committed float32 runs keep their fingerprint
    assert bf16["precision"] == "mixed_bfloat16" and bf16["code_sha256"] != float32["code_sha256"]
    assert "it was trained in float32, this run is in mixed_bfloat16" in (
        fingerprint.differences(float32, bf16)
    )


def test_runs_stored_before_the_precision_parameter_are_float32_and_up_to_date():
    stored = store.load_run("cnn_mnist")
    assert stored.provenance["parameters"]["precision"] == "float32"
    assert runs.describe_state("cnn_mnist") == ("up-to-date", "")


def test_the_bfloat16_lab_plans_the_five_keras_exercises_under_their_own_names(capsys, monkeypatch):
    monkeypatch.setattr(reproductions, "read", lambda *a: None)  # none judged yet
    runs.lab(dry_run=True, number_format="mixed_bfloat16", left_out=verify_precision.left_out)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("== [")]
    assert [line.split()[2] for line in lines] == [f"{n}_bf16:" for n in exercises.EXERCISES]
    with pytest.raises(UserError, match="trains in float32 only"):
        runs.lab(["playground_spiral"], dry_run=True, number_format="mixed_bfloat16")


def test_the_bfloat16_lab_leaves_out_a_run_not_admitted_unless_named(capsys, monkeypatch):
    judged = pd.DataFrame(
        {"run": ["cnn_mnist_bf16", "relu_mnist_bf16", "dense_mnist_bf16", "cifar10_cnn_bf16"],
         "rule": ["1.3 x farthest seed pair"] * 3 + ["2 sd per point"],
         "verdict": ["outside", "outside", "within seed noise", "outside"],
         "conclusions": ["differ: Q14", "same", "same", ""],
         "ratio_acc": [0.5, 0.4, 1.5, float("nan")],
         "date": pd.to_datetime(["2099-01-01"] * 4, utc=True)}
    )  # fmt: skip
    monkeypatch.setattr(reproductions, "read", lambda *a: judged)
    runs.lab(dry_run=True, number_format="mixed_bfloat16", left_out=verify_precision.left_out)
    out = capsys.readouterr().out
    assert "== cnn_mnist_bf16: left out: its last judgement against cnn_mnist" in out
    assert "conclusions 'differ: Q14'" in out
    assert "== dense_mnist_bf16: left out" in out  # test accuracy 1.5 x the farthest seed pair
    assert "cnn_mnist_bf16: results" not in out and "dense_mnist_bf16: results" not in out
    # the same conclusions and accuracy within the noise joins, whatever its history does;
    # a verdict of the old rule (before issue 34) decides nothing
    assert "relu_mnist_bf16: results" in out and "cifar10_cnn_bf16: results" in out
    runs.lab(
        ["cnn_mnist"],
        dry_run=True,
        number_format="mixed_bfloat16",
        left_out=verify_precision.left_out,
    )
    assert "cnn_mnist_bf16: results" in capsys.readouterr().out  # named: trained anyway


def _seeds(tmp_path, accs):
    """Float32 seed runs of relu_mnist under ``tmp_path``, listed in its scores/seeds.csv."""
    sources = [
        str(write_run(tmp_path / "sweep", f"seed{seed}", acc=acc, loss=0.3 + acc - 0.98,
                      shift=acc - 0.98, seed=seed).files.provenance)
        for seed, acc in enumerate(accs)
    ]  # fmt: skip
    losses = [0.3 + acc - 0.98 for acc in accs]  # as each run stores it
    table = pd.DataFrame(
        {"run": "relu_mnist", "seed": range(len(accs)), "loss": losses, "acc": accs}
    )
    records.write_csv(table.assign(source=sources), records.run_files("seeds", tmp_path).score)


def test_a_bfloat16_run_is_judged_against_the_float32_run_by_the_seed_noise_rule(tmp_path):
    write_run(tmp_path, "relu_mnist", acc=0.980)
    write_run(tmp_path, "relu_mnist_bf16", acc=0.9813, loss=0.3013, shift=0.0013)
    _seeds(tmp_path, [0.978, 0.979, 0.980, 0.9815, 0.982])  # pairs 0.0005 to 0.004 apart
    close = verify_precision.compare("relu_mnist", tmp_path)
    assert close.run == "relu_mnist_bf16" and close.verdict == "within seed noise"
    assert close.d_acc == pytest.approx(0.0013, abs=1e-12)
    assert close.conclusions == "same"  # Q8-Q10 hold with the bfloat16 run in its place
    write_run(tmp_path, "relu_mnist_bf16", acc=0.970)  # farther than every seed pair
    far = verify_precision.compare("relu_mnist", tmp_path)
    assert far.verdict == "outside" and far.standing.closer["acc"] == 1.0
    assert not verify_precision.admitted(far)


def test_judging_a_bfloat16_run_that_was_never_trained_names_the_command(tmp_path):
    write_run(tmp_path, "relu_mnist")
    _seeds(tmp_path, [0.9, 0.91])
    with pytest.raises(UserError, match="make lab PRECISION=bf16"):
        verify_precision.compare("relu_mnist", tmp_path)


def test_verify_retrains_a_bfloat16_run_with_its_exercise_notebook_in_bfloat16(
    tmp_path, monkeypatch
):
    calls = []
    monkeypatch.setattr(
        runs, "execute", lambda notebook, out, params: calls.append((notebook, params))
    )
    verify.rerun("cnn_mnist_bf16", tmp_path / "scratch")
    [(notebook, params)] = calls
    assert notebook.name == "03_cnn_mnist.ipynb"
    assert params["run_name"] == "cnn_mnist_bf16" and params["precision"] == "mixed_bfloat16"
    verify.rerun("cnn_mnist", tmp_path / "scratch")
    assert "precision" not in calls[-1][1]  # the float32 run: the notebook's own default


def test_the_bfloat16_section_answers_its_question_first():
    from imagelab.report import precision as section

    table = pd.DataFrame(
        {"exercise": ["cnn_mnist", "cifar10_cnn", "dense_mnist"],
         "verdict": ["outside", "within seed noise", section.NOT_JUDGED],
         "conclusions": ["same", "differ: Q20", ""], "admitted": [True, False, False],
         "bench_ratio": [0.41, 0.59, float("nan")]}
    )  # fmt: skip
    monkey = section._bench_source
    section._bench_source = lambda benchmarks=None: "Intel Xeon, 2026-12-01"
    try:
        first = section.answer_sentence(table)
        same = section.answer_sentence(table.iloc[[0]])
    finally:
        section._bench_source = monkey
    assert first.startswith("Not the same conclusions everywhere: of the 2 judged bfloat16 runs")
    assert "cifar10_cnn (differ: Q20) do not" in first
    assert "0.41-0.59 times the float32 time" in first and "Intel Xeon, 2026-12-01" in first
    assert same.startswith("The same conclusions: each of the 1 judged bfloat16 run reaches")
    numbers = section.verdict_sentence(table)
    assert "1 within seed noise, 1 outside, 1 not judged yet" in numbers
    assert "Joining `make lab PRECISION=bf16`" in numbers and numbers.endswith("cnn_mnist.")
