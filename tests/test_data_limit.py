"""A run cut by data_limit says what it cut, and no sentence compares it with full-data results
or 2019's as if they were alike (issue 38). data.load cuts the training and the test set alike
and is fingerprinted, so the cut stays; the sentences around it change."""

from types import SimpleNamespace

from imagelab import analysis
from imagelab.results import exercises, store
from imagelab.running.run import start_run

from .conftest import copy_committed_run


def test_a_limited_run_says_what_it_cut(fixture_data, tmp_path, capsys):
    params = exercises.notebook_defaults("relu_mnist") | {
        "run_name": "try",
        "results_dir": str(tmp_path),
        "data_limit": 64,
    }
    run = start_run("relu_mnist", params)
    cut = "the first 64 of 300 training images and the first 64 of 100 test images"
    assert run.data_cut == cut
    assert f"[try] data_limit=64: {cut} (data_limit cuts both;" in capsys.readouterr().out
    whole = start_run("relu_mnist", params | {"data_limit": None, "run_name": "whole"})
    assert whole.data_cut is None
    assert "[whole] 300 training and 100 test images, from " in capsys.readouterr().out


def test_a_limited_run_is_not_compared_with_2019():
    relu = exercises.get_exercise("relu_mnist")
    score = {"loss": 0.9, "acc": 0.703}
    cut = "the first 2000 of 60000 training images and the first 2000 of 10000 test images"
    text = analysis.score_sentence(score, relu, cut)
    assert "test accuracy 0.7030: 29.70 mistakes per 100 test images" in text
    assert f"Not compared with 2019's accuracy (0.9801): this run saw {cut} (data_limit)" in text
    assert "now)" not in text and "2019 reported" not in text
    assert "2019 reported loss 0.0779 and accuracy 0.9801" in analysis.score_sentence(score, relu)
    timing = analysis.epoch_time_sentence([3.0, 1.0, 1.0], seconds_2019=120, cut=cut)
    assert "Not compared with 2019's 120 s" in timing and "as long" not in timing


def _limited_run(results_dir, n_train, n_test, acc=0.703):
    return SimpleNamespace(
        name="try",
        params={"results_dir": str(results_dir), "data_limit": n_train},
        data=SimpleNamespace(sizes={"n_train": n_train, "n_test": n_test}),
        result=SimpleNamespace(score={"acc": acc}, history=None),
        stored_beside=lambda other: store.load_run(other, results_dir),  # as run.Run finds it
    )


def test_a_limited_run_is_not_compared_with_a_full_data_run(tmp_path):
    copy_committed_run("dense_mnist", tmp_path)  # 60000 training and 10000 test images
    text = analysis.compare_with(_limited_run(tmp_path, 2000, 2000), "dense_mnist")
    assert text == (
        "Not compared with dense_mnist (0.9241): try trained on 2000 images and was tested on "
        "2000, dense_mnist on 60000 and 10000; accuracies after other training on other test "
        "images are not alike, so run it without data_limit to compare."
    )
    assert "worse" not in text
    assert analysis.dropout_effect(_limited_run(tmp_path, 2000, 2000), "dense_mnist") == text
    alike = analysis.compare_with(_limited_run(tmp_path, 60000, 10000), "dense_mnist")
    assert (
        alike
        == "try scores 0.7030 on the test set against 0.9241 for dense_mnist: worse (-0.2211)."
    )
