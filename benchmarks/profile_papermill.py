"""Where papermill's per-notebook overhead goes (the profile behind benchmarks/results.csv's
``papermill/overhead``). Prints, for the tiny fixture run of notebook 01:

- kernel start until it answers (jupyter_client), and its graceful shutdown with TensorFlow
  loaded, against a plain interpreter's exit after the same imports;
- papermill's notebook saves (cProfile of the parent process: calls and cumulative seconds);
- the notebook's cell time in the kernel (papermill's own per-cell timestamps) against the
  whole papermill call.

    .venv/bin/python benchmarks/profile_papermill.py
"""

import cProfile
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dateutil.parser
import papermill
from jupyter_client.manager import start_new_kernel

from imagelab.results.exercises import EXERCISES
from imagelab.running.runs import KERNEL, PROJECT_ROOT

IMPORTS = (
    "from imagelab import quiet_tensorflow; quiet_tensorflow(); import keras, matplotlib.pyplot"
)


def kernel_start_and_shutdown() -> None:
    began = time.perf_counter()
    manager, client = start_new_kernel(kernel_name=KERNEL)
    print(f"kernel start to ready: {time.perf_counter() - began:.2f} s")
    client.execute_interactive(IMPORTS, timeout=120)
    began = time.perf_counter()
    client.stop_channels()
    manager.shutdown_kernel(now=False)
    print(f"kernel graceful shutdown, TensorFlow loaded: {time.perf_counter() - began:.2f} s")
    code = f"{IMPORTS}; import time; print(time.time())"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    exited = time.time()
    print(f"plain interpreter exit after the same imports: {exited - float(done.stdout):.2f} s")


def papermill_run() -> None:
    os.environ["IMAGELAB_DATA"] = str(PROJECT_ROOT / "tests" / "fixtures")
    notebook = str(EXERCISES["dense_mnist"].notebook_path)
    with tempfile.TemporaryDirectory() as tmp:
        params = {"data_limit": 100, "epochs": 1, "run_name": "profile", "results_dir": tmp}
        output = Path(tmp) / "out.ipynb"
        profile = cProfile.Profile()
        began = time.perf_counter()
        profile.enable()
        executed = papermill.execute_notebook(notebook, str(output), parameters=params,
                                              kernel_name=KERNEL, progress_bar=False,
                                              cwd=str(PROJECT_ROOT))  # fmt: skip
        profile.disable()
        total = time.perf_counter() - began
    saves = [v for k, v in pstats.Stats(profile).stats.items()
             if k[2] == "save" and k[0].endswith("papermill/engines.py")]  # fmt: skip
    cells = [c.metadata.papermill for c in executed.cells if c.cell_type == "code"]
    cell_seconds = sum(c["duration"] or 0 for c in cells)
    first = dateutil.parser.parse(cells[0]["start_time"])
    start = dateutil.parser.parse(executed.metadata.papermill["start_time"])
    print(f"papermill call: {total:.2f} s; cells in the kernel: {cell_seconds:.2f} s; "
          f"start to first cell: {(first - start).total_seconds():.2f} s")  # fmt: skip
    for _, calls, _, cumulative, _ in saves:
        print(f"papermill notebook saves: {calls} calls, {cumulative:.2f} s")


if __name__ == "__main__":
    kernel_start_and_shutdown()
    papermill_run()
