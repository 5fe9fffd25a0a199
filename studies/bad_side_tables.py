"""Bad-input cases: the report's other inputs (issue 26): seeds, benchmark, verify records, sweep
summaries, studies, the 2019 history, the Playground search and figures, damaged.

A ``CASES`` list of ``bad_input_kit.Case``; ``studies/bad_inputs.py`` runs them with the others.
"""

from __future__ import annotations

from bad_input_kit import Case

CASES: list[Case] = []
