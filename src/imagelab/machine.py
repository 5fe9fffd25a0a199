"""The machine a run trained on, and what decides TensorFlow's floating-point path there.

Results are byte-identical run to run on one machine but may differ in the fourth decimal on
another CPU: oneDNN, TensorFlow's CPU kernels, picks its code paths (and so its rounding) by
the CPU's instruction-set features, and the thread counts change the order of reductions. A
provenance records all of it, so two runs that differ can be told apart by their machines.
"""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

# The CPU features oneDNN (TensorFlow's CPU kernels) picks its code paths by: two machines that
# differ in them may round differently and give results that differ in the fourth decimal.
ISA_FLAGS = tuple(
    "sse4_2 avx avx2 fma avx_vnni avx512f avx512bw avx512_vnni avx512_bf16 avx512_fp16 "
    "amx_tile amx_int8 amx_bf16".split()
)


def describe() -> dict[str, object]:
    """The CPU and what decides TensorFlow's floating-point path on it: vendor, model, the
    ISA features oneDNN dispatches on, whether oneDNN is on, thread counts and the device."""
    cpu = _cpuinfo()
    flags = set(cpu.get("flags", "").split())
    return {
        "cpu": cpu.get("model name") or platform.processor() or "unknown",
        "cpu_vendor": cpu.get("vendor_id", "unknown"),
        "cpu_family_model_stepping": [cpu.get(k) for k in ("cpu family", "model", "stepping")],
        "isa_flags": [flag for flag in ISA_FLAGS if flag in flags],
        "cores": _cores(),
        "platform": platform.platform(),
        **_tensorflow_setup(),
    }


def cpu_name(facts: dict) -> str:
    """The CPU of ``describe()``'s facts (this machine's or a provenance's) with its family and
    model numbers: virtual machines may mask the name ("AMD EPYC"), not these."""
    cpu = facts.get("cpu") or "unknown CPU"
    family = facts.get("cpu_family_model_stepping") or (None, None)
    if all(v is not None for v in family[:2]):
        cpu += f" (family {family[0]} model {family[1]})"
    return cpu


def _cpuinfo() -> dict[str, str]:
    """The first processor's fields in /proc/cpuinfo (empty off Linux)."""
    fields: dict[str, str] = {}
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return fields
    for line in text.split("\n\n")[0].splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def _tensorflow_setup() -> dict[str, object]:
    """oneDNN setting, thread counts and device; read from TensorFlow only if a run loaded it."""
    setting = os.environ.get("TF_ENABLE_ONEDNN_OPTS")
    # TensorFlow >= 2.9 turns oneDNN on by default on x86 Linux; "0"/"false" turns it off.
    onednn = (setting or "1").strip().lower() not in ("0", "false", "off")
    setup = {
        "tf_enable_onednn_opts": setting,
        "onednn": onednn and platform.machine() in ("x86_64", "AMD64"),
        # oneDNN's own cap on the ISA it dispatches on (e.g. AVX2); None: the CPU's best.
        "onednn_max_cpu_isa": os.environ.get("ONEDNN_MAX_CPU_ISA"),
        "imagelab_threads": os.environ.get("IMAGELAB_THREADS"),
    }
    tf = sys.modules.get("tensorflow")
    if tf is None:
        return setup
    threading = tf.config.threading
    return setup | {
        # 0 means TensorFlow's default: one thread per core.
        "intra_op_threads": threading.get_intra_op_parallelism_threads(),
        "inter_op_threads": threading.get_inter_op_parallelism_threads(),
        "device": "GPU" if tf.config.list_physical_devices("GPU") else "CPU",
    }
