"""Judging: what the stored runs say, and whether they hold when trained again.

``seed_noise`` (how far seed runs of one exercise lie apart: the yardstick), ``reproductions``
(the record of every verification, ``reproductions/verify.csv``), ``verify`` and
``verify_precision`` (retrain or compare, then judge numbers and conclusions), ``questions``,
``answer``, ``evidence``, ``verdicts`` and ``conclusions`` (the 2019 report's 23 questions,
answered from the evidence as records), and ``reference`` (what 2019 printed beside them).

It may import the lab, the results store and running (verify retrains through ``runs``),
never the report or the command line.
"""
