"""Whether a stored run is up to date, and if not, why: decided here, in one call.

``freshness(exercise, params)`` reads the run stored under ``params["run_name"]`` and answers
with its state ('missing', 'up-to-date', 'stale' or 'different'), the run, and why it is stale
in words; ``stale_reasons`` gives the why for a run already in hand (verify, the report, the
seed table). Everything it needs sits below it: the stored run (``store``), the parameters
that decide what is trained (``exercises``) and today's fingerprint (``fingerprint``), so the
answer needs no back and forth. The same rule serves ``start_run``, ``imagelab lab``, sweeps,
verify, the report and the seed table.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from imagelab.results import fingerprint as fingerprints
from imagelab.results.exercises import get_exercise, normal, settings_of
from imagelab.results.store import StoredRun, load_run


class Freshness(NamedTuple):
    """A stored run's ``state`` against a run's parameters, the run, and ``why`` in words."""

    state: str
    stored: StoredRun | None
    why: tuple[str, ...] = ()  # empty unless 'stale'

    def because(self) -> str:  # as the lab prints it after the state: ' (a; b)', or ''
        return f" ({'; '.join(self.why)})" if self.why else ""


def freshness(
    exercise: str,
    params: dict[str, object],
    results_dir: str | Path | None = None,
    data_checksums: dict[str, str] | None = None,
) -> Freshness:
    """The one answer to "is this stored run up to date, and if not, why", for ``params`` (an
    exercise's parameters, run controls included): 'missing', 'up-to-date', 'stale' (same
    settings, but older code, notebook, pinned libraries or data: retraining would change
    something; ``why`` says what) or 'different' (another run's settings under this name).
    ``data_checksums`` (the loaded data's) count when given; damage raises ``DamagedResult``.
    """
    results_dir = results_dir if results_dir is not None else params.get("results_dir")
    stored = load_run(params["run_name"], results_dir)
    if stored is None:
        return Freshness("missing", None)
    if normal(stored.provenance["parameters"]) != normal(settings_of(params)):
        return Freshness("different", stored)
    why = stale_reasons(stored.provenance, data_checksums, exercise)
    return Freshness("stale" if why else "up-to-date", stored, tuple(why))


def stale_reasons(
    provenance: dict, data_checksums: dict[str, str] | None = None, exercise: str | None = None
) -> list[str]:
    """Why a stored run (its ``provenance``) would come out differently if trained now, in
    words (empty: it would not): its fingerprint against today's for its exercise (by default
    the one it names) and precision, and the data's checksums when given."""
    exercise = exercise or provenance["exercise"]
    precision = provenance["parameters"].get("precision", "float32")
    reasons = fingerprints.differences(
        provenance.get("fingerprint"), current_fingerprint(exercise, precision)
    )
    stored_checksums = (provenance.get("data") or {}).get("checksums")
    if data_checksums is not None and stored_checksums != data_checksums:
        reasons.append("the data's checksums differ from those it was trained on")
    return reasons


def current_fingerprint(exercise: str, precision: str = "float32") -> dict[str, object]:
    """The fingerprint a run of ``exercise`` in ``precision`` made now would carry."""
    kind = get_exercise(exercise)
    return fingerprints.fingerprint(
        f"notebooks/{kind.notebook}", kind.training_code, precision=precision
    )
