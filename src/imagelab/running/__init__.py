"""Running: notebooks executed, one or many, their results stored through ``results``.

``run`` (one run of an exercise notebook: ``start_run``, ``fit``, what it wrote), ``progress``
(its epochs as they pass), ``runs`` (the lab's batches with papermill, one ``execute`` for
every caller), ``sweeps`` (a grid of runs from a sweep file, resumable, locally or on a dask
cluster; its ``summary`` schema), ``playground_run`` and ``playground_search`` (exercise three
and its grid search) and ``redraw`` (figures drawn again from stored runs).

It may import the lab and the results store, never the layers above: judging, the report, the
command line (which hands it the judges' word where a batch needs it, ``runs.lab``'s
``left_out``).
"""
