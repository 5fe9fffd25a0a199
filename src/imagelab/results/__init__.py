"""The results store: what a run left on disk, and whether it still answers today's code.

``exercises`` (the registry: each exercise's notebook, parameters and canonical names),
``fingerprint`` (what decides a run's numbers, hashed), ``manifest`` and ``staging`` (a run's
files published as one set), ``provenance_facts`` and ``provenance_schema`` (what a run
records of itself, checked), ``store`` (a stored run read back, validated, and its freshness:
one call says whether it is up to date and why not), ``outputs`` (the files a run publishes
beside its CSVs) and ``tables`` (every side table, read through one validating reader).

It may import the lab (the modules at the package's top), never the layers above: running,
judging, the report, the command line.
"""
