"""Bad-input cases: what a run is given (issue 26): parameters, provenance, data that is not
canonical, a run that diverges.

A ``CASES`` list of ``bad_input_kit.Case``; ``studies/bad_inputs.py`` runs them with the others.
"""

from __future__ import annotations

from bad_input_kit import Case

CASES: list[Case] = []
