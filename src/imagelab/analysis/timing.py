"""Judgements about time: seconds per steady epoch, whether a run shared its cores, and the
timing sentences of the 2019 questions, from uncontended measurements only."""

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


def epoch_time_sentence(epoch_seconds: list[float], seconds_2019: float | None = None) -> str:
    """Seconds per epoch on this machine (first epoch apart: it includes graph tracing)."""
    steady, spread = steady_epoch_seconds(epoch_seconds), epoch_seconds[1:] or epoch_seconds
    which = f"median of epochs 2-{len(epoch_seconds)}" if len(epoch_seconds) > 1 else "one epoch"
    text = (
        f"An epoch took {steady:.1f} s ({which}; range {min(spread):.1f}-{max(spread):.1f} s; "
        f"the first took {epoch_seconds[0]:.1f} s)."
    )
    if seconds_2019:
        text += f" 2019: more than {seconds_2019:.0f} s, {seconds_2019 / steady:.1f}x as long."
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
    """Seconds per steady epoch that may draw a conclusion, and where they come from.

    A run's own epochs (``steady_epoch_seconds``) when it had the cores to itself; the
    benchmark's idle measurement (``idle_seconds``) when the run was contended; no seconds
    (None) when it was contended and there is no idle measurement. ``source`` is 'run' or
    'benchmark'; ``run_seconds`` the run's own steady epoch either way.
    """
    own = steady_epoch_seconds(provenance["epoch_seconds"])
    if not contention(provenance)["contended"]:
        return {"seconds": own, "source": "run", "run_seconds": own}
    source = "benchmark" if idle_seconds else None
    return {"seconds": idle_seconds or None, "source": source, "run_seconds": own}


BENCHMARK_SOURCE = "the benchmark's idle measurement (`benchmarks/results.csv`)"


def timing_sentence(
    provenance: dict, idle_seconds: float | None = None, seconds_2019: float | None = None
) -> str:
    """Seconds per epoch for a time question (Q2, Q21), from uncontended measurements only,
    naming the source used."""
    timing = epoch_timing(provenance, idle_seconds)
    if timing["source"] == "run":
        text = epoch_time_sentence(provenance["epoch_seconds"])
        shared = contention(provenance)["load"] is not None
        text += (
            " These are the run's own epochs; it had the cores to itself."
            if shared
            else " These are the run's own epochs (its load was not recorded)."
        )
    else:
        text = (
            f"This run shared the cores ({contention_note(provenance)}), so its own epoch "
            "times draw no conclusion."
        )
        if timing["source"] is None:
            return text + " No idle measurement of this network exists to use instead."
        text += f" An epoch takes {timing['seconds']:.1f} s by {BENCHMARK_SOURCE}."
    if seconds_2019:
        ratio = seconds_2019 / timing["seconds"]
        text += f" 2019: more than {seconds_2019:.0f} s, {ratio:.1f}x as long."
    return text


def time_versus(
    ours: dict,
    theirs: dict,
    other: str,
    idle: tuple[float, float] | None = None,
) -> str:
    """A training epoch of this run against another's (Q16), from uncontended measurements.

    ``ours`` and ``theirs`` are the runs' provenance; ``idle`` the benchmark's paired idle
    seconds (this network, the other), used when either run was contended: times measured
    under different contention compare nothing.
    """
    shared = [
        f"{name} {contention_note(p)}"
        for name, p in (("this run", ours), (other, theirs))
        if contention(p)["contended"]
    ]
    if not shared:
        a = steady_epoch_seconds(ours["epoch_seconds"])
        b = steady_epoch_seconds(theirs["epoch_seconds"])
        source = "the runs' own epochs, medians of epochs 2 onwards; neither shared the cores"
    elif idle:
        a, b = idle
        source = (
            f"by {BENCHMARK_SOURCE}, the two networks timed side by side; the canonical runs' "
            f"own epochs draw no conclusion, as they shared the cores ({'; '.join(shared)})"
        )
    else:
        return (
            f"No timing conclusion: the runs shared the cores ({'; '.join(shared)}) and no "
            "idle measurement of the two networks exists."
        )
    return (
        f"A training epoch took {a:.1f} s against {b:.1f} s for {other} ({a - b:+.1f} s), {source}."
    )
