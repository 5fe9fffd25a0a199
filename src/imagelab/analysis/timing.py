"""Judgements about time: seconds per steady epoch, whether a run shared its cores, and the
timing sentences of the 2019 questions, from the most careful measurement there is: the
benchmark's idle, paired epochs where it covers the network, else a run's own uncontended ones."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd


def steady_epoch_seconds(epoch_seconds: list[float]) -> float:
    """Seconds of a steady epoch: the median of epochs 2 onwards (the first also traces the
    graph), or the first epoch's time for a 1-epoch run."""
    return float(np.median(epoch_seconds[1:] or epoch_seconds))


def matmul_shares(bench: pd.Series, names: list[str]) -> list[float]:
    """Each model's training GFLOP/s as a percentage of the benchmark run's best fp32 matmul
    (``bench``: benchmarks/results.csv's values by name), the ``matmul_pct`` bench.py writes.
    One yardstick for every model: a share of the best matmul *so far*, which older files
    store, exceeded 100 % when an early matmul landed on this VM's slow level."""
    return [100 * bench[f"{n}/gflops"] / bench["matmul_fp32"] for n in names]


def own_epochs(epoch_seconds: list[float]) -> str:
    """A run's steady epoch in seconds with where it comes from, worded for any number of
    epochs: '36.7 s (median of epochs 2-20; range 28.4-42.0 s; the first took 33.2 s)'."""
    first, later = epoch_seconds[0], epoch_seconds[1:]
    if not later:
        return f"{first:.1f} s (its only epoch, graph tracing included)"
    if len(later) == 1:
        return f"{later[0]:.1f} s (epoch 2; the first took {first:.1f} s)"
    return (
        f"{steady_epoch_seconds(epoch_seconds):.1f} s (median of epochs 2-{len(epoch_seconds)}; "
        f"range {min(later):.1f}-{max(later):.1f} s; the first took {first:.1f} s)"
    )


def epoch_time_sentence(
    epoch_seconds: list[float], seconds_2019: float | None = None, cut: str | None = None
) -> str:
    """Seconds per epoch of a run, from its own epochs (the first apart: it includes graph
    tracing), against 2019's ``seconds_2019`` unless ``cut`` says the run saw only part of the
    data (``run.data_cut``): its epochs were shorter for that alone."""
    if len(epoch_seconds) == 1:
        text = (
            f"The one epoch took {epoch_seconds[0]:.1f} s, graph tracing included (train two "
            "or more epochs to see a steady epoch's time)."
        )
    else:
        text = f"An epoch took {own_epochs(epoch_seconds)}."
    if seconds_2019 and cut:
        text += (
            f" Not compared with 2019's {seconds_2019:.0f} s: an epoch here went over {cut} "
            "(data_limit), 2019's over the whole training set."
        )
    elif seconds_2019:
        steady = steady_epoch_seconds(epoch_seconds)
        text += _against_2019(seconds_2019, steady)
    return text


# A run is contended when other processes shared its cores: its 1-minute load average (at start
# or end) above this many times the core count (the run alone keeps the load near the core
# count), or, where provenance records CPU time, a process that got less than CONTENDED_SHARE
# of the cores' time while the load was above the core count.
CONTENDED_LOAD = 1.5
CONTENDED_SHARE = 0.5


def contention(provenance: dict) -> dict[str, object]:
    """Whether a run shared its cores: ``contended`` (True, False, or None when the provenance
    records no load), the highest 1-minute ``load``, the ``cores`` and the process's ``cpu_share``
    (CPU seconds over training seconds times cores, None when not recorded)."""
    cores = (provenance.get("machine") or {}).get("cores")
    load = provenance.get("load_average") or {}
    loads = [values[0] for values in (load.get("start"), load.get("end")) if values]
    cpu, train = provenance.get("cpu_seconds"), provenance.get("train_seconds")
    share = cpu / (train * cores) if cpu and train and cores else None
    if not loads or not cores:
        return {"contended": None, "load": None, "cores": cores, "cpu_share": share}
    busy = max(loads) > CONTENDED_LOAD * cores
    starved = share is not None and share < CONTENDED_SHARE and max(loads) > cores
    return {"contended": busy or starved, "load": max(loads), "cores": cores, "cpu_share": share}


def contention_note(provenance: dict) -> str:
    """What made a run contended, in words (empty when it was not)."""
    c = contention(provenance)
    if not c["contended"]:
        return ""
    share = f", {c['cpu_share']:.0%} of the cores' time" if c["cpu_share"] else ""
    return f"1-minute load up to {c['load']:.1f} on {c['cores']} cores{share}"


def epoch_timing(provenance: dict, idle_seconds: float | None = None) -> dict[str, object]:
    """Seconds per steady epoch for a time question, from the most careful measurement there is.

    The benchmark's (``idle_seconds``: the fastest of many epochs on an idle machine, which
    leaves out this machine's slow spells) when it covers the exercise; else the run's own
    epochs (``steady_epoch_seconds``) when the run had the cores to itself; else no seconds
    (None). ``source`` is 'benchmark', 'run' or None; ``run_seconds`` the run's own steady
    epoch either way, to show beside the benchmark's.
    """
    own = steady_epoch_seconds(provenance["epoch_seconds"])
    if idle_seconds:
        return {"seconds": idle_seconds, "source": "benchmark", "run_seconds": own}
    if not contention(provenance)["contended"]:
        return {"seconds": own, "source": "run", "run_seconds": own}
    return {"seconds": None, "source": None, "run_seconds": own}


BENCHMARK_SOURCE = (
    "the benchmark's idle measurement (the fastest of its timed epochs on an idle machine, "
    "`benchmarks/results.csv`)"
)
# What a run's own epoch times are, wherever they stand beside the benchmark's: measured on
# the CPU that trained the run, which need not be the benchmark's.
RUN_OWN = "the run's own epochs, on the CPU that trained it (slow spells included)"


def timing_sentence(
    provenance: dict, idle_seconds: float | None = None, seconds_2019: float | None = None
) -> str:
    """Seconds per epoch for a time question (Q2, Q21): the benchmark's when it covers the
    network, with the run's own epochs beside it and marked as such; else the run's own when
    it had the cores to itself; naming the source used."""
    timing = epoch_timing(provenance, idle_seconds)
    epochs = provenance["epoch_seconds"]
    if timing["source"] == "benchmark":
        shared = contention_note(provenance)
        text = (
            f"An epoch takes {timing['seconds']:.1f} s by {BENCHMARK_SOURCE}. For comparison, "
            f"{RUN_OWN}: {own_epochs(epochs)}"
            + (f"; this run shared the cores ({shared})." if shared else ".")
        )
    elif timing["source"] == "run":
        alone = (
            "it had the cores to itself"
            if contention(provenance)["load"] is not None
            else "its load was not recorded"
        )
        text = (
            f"{epoch_time_sentence(epochs)} These are the run's own epochs (no benchmark of "
            f"this network); {alone}."
        )
    else:
        return (
            f"This run shared the cores ({contention_note(provenance)}), so its own epoch "
            "times draw no conclusion. No idle measurement of this network exists to use instead."
        )
    if seconds_2019:
        text += _against_2019(seconds_2019, timing["seconds"])
    return text


def _against_2019(seconds_2019: float, seconds: float) -> str:
    """2019's epoch time beside ours: a lower bound (2019 wrote "more than"), on its machine."""
    return (
        f" 2019: more than {seconds_2019:.0f} s on its own, unnamed machine, so at least "
        f"{seconds_2019 / seconds:.1f}x as long as here (different machines: not a speed-up)."
    )


def _whole_training(ours: dict, theirs: dict, other: str) -> str:
    """The two runs' whole training times, the runs' own (2019's "about 10 seconds longer" may
    have meant the whole training, not an epoch)."""
    seconds = [p.get("train_seconds") for p in (ours, theirs)]
    if not all(isinstance(s, int | float) for s in seconds):
        return ""
    a, b = (round(s) for s in seconds)
    return f"; the whole training took {a} s against {b} s for {other} ({a - b:+d} s)"


def time_versus(
    ours: dict,
    theirs: dict,
    other: str,
    idle: tuple[float, float] | None = None,
) -> str:
    """A training epoch of this run's network against another's (Q16).

    ``ours`` and ``theirs`` are the runs' provenance; ``idle`` the benchmark's paired idle
    seconds (this network, the other), the answer whenever the benchmark covers both, with the
    runs' own epochs beside it; without it, the runs' own epochs when neither was contended
    (times measured under different contention compare nothing).
    """
    # Rounded before subtracting, so the difference shown is that of the two numbers shown.
    own = tuple(round(steady_epoch_seconds(p["epoch_seconds"]), 1) for p in (ours, theirs))
    shared = [
        f"{name} {contention_note(p)}"
        for name, p in (("this run", ours), (other, theirs))
        if contention(p)["contended"]
    ]
    if idle:
        a, b = (round(seconds, 1) for seconds in idle)
        beside = (
            f"For comparison, {RUN_OWN} (medians of epochs 2 onwards): {own[0]:.1f} s against "
            f"{own[1]:.1f} s ({own[0] - own[1]:+.1f} s)"
        )
        if shared:
            beside += f"; they shared the cores ({'; '.join(shared)})"
        beside += _whole_training(ours, theirs, other)
        return (
            f"A training epoch takes {a:.1f} s against {b:.1f} s for {other} ({a - b:+.1f} s), "
            f"by {BENCHMARK_SOURCE}, the two networks timed side by side. {beside}."
        )
    if shared:
        return (
            f"No timing conclusion: the runs shared the cores ({'; '.join(shared)}) and no "
            "idle measurement of the two networks exists."
        )
    a, b = own
    return (
        f"A training epoch took {a:.1f} s against {b:.1f} s for {other} ({a - b:+.1f} s), the "
        "runs' own epochs, medians of epochs 2 onwards (no benchmark of the two networks); "
        "neither shared the cores."
    )
