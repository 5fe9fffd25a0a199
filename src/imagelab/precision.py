"""The number format a run trains in: float32 (2019's, and every canonical run's) or bfloat16.

``mixed_bfloat16`` is Keras's mixed-precision policy: weights stay float32, layers compute in
bfloat16, which CPUs with AVX512_BF16 or AMX multiply at about twice the float32 rate (a CNN
epoch 0.45x the float32 time on an AMD EPYC family 26, ``../shared/notes/bfloat16.md``). The
softmax output computes in float32, as Keras advises, so the loss sees float32 probabilities.

A bfloat16 run is another run: it takes its own name (``<exercise>_bf16`` for the 2019 settings),
and its fingerprint records the precision and hashes this module, which changes what it trains.
Where the CPU cannot multiply in bfloat16 the run is refused before it loads any data: without
the instructions there is nothing to gain, and with oneDNN capped below them a bfloat16
convolution fails outright ("could not create a primitive descriptor").
"""

from __future__ import annotations

from imagelab import machine
from imagelab.errors import UserError

FLOAT32 = "float32"
BFLOAT16 = "mixed_bfloat16"
PRECISIONS = (FLOAT32, BFLOAT16)
# The canonical bfloat16 run of an exercise is named <exercise><SUFFIX>.
SUFFIX = {FLOAT32: "", BFLOAT16: "_bf16"}
# The command line's names (`imagelab lab --precision bf16`).
SHORT = {"fp32": FLOAT32, "bf16": BFLOAT16}
BF16_FLAGS = ("avx512_bf16", "amx_bf16")  # /proc/cpuinfo flags of bfloat16 arithmetic
# oneDNN's ISA levels (ONEDNN_MAX_CPU_ISA) that include its bfloat16 kernels.
BF16_ISAS = ("AVX512_CORE_BF16", "AVX512_CORE_AMX", "AVX10_1_512", "AVX10_1_512_AMX",
             "AVX10_1_512_AMX_FP16", "AVX512_CORE_FP16", "AVX512_CORE_AMX_FP16", "ALL")  # fmt: skip


def canonical_name(exercise: str, precision: str) -> str:
    """The run name of an exercise's 2019 settings trained in ``precision``."""
    return exercise + SUFFIX[precision]


def unsupported(setup: dict[str, object] | None = None) -> str | None:
    """Why bfloat16 arithmetic is not available to TensorFlow here, or None when it is.
    ``setup`` is ``machine.describe()`` (read now when not given)."""
    setup = setup or machine.describe()
    if not setup.get("onednn"):
        return (
            "oneDNN, TensorFlow's CPU kernels that do bfloat16 arithmetic, is off here "
            f"(TF_ENABLE_ONEDNN_OPTS={setup.get('tf_enable_onednn_opts')!r})"
        )
    cap = setup.get("onednn_max_cpu_isa")
    if cap and str(cap).upper() not in BF16_ISAS:
        return f"oneDNN is capped below its bfloat16 kernels (ONEDNN_MAX_CPU_ISA={cap})"
    if not set(BF16_FLAGS) & set(setup.get("isa_flags", [])):
        return f"this CPU ({setup.get('cpu')}) has neither AVX512_BF16 nor AMX"
    return None


def check(precision: str) -> None:
    """Refuse, in one paragraph, a bfloat16 run where the CPU or oneDNN cannot do bfloat16."""
    if precision != BFLOAT16:
        return
    reason = unsupported()
    if reason:
        raise UserError(
            f"precision {BFLOAT16!r} needs bfloat16 arithmetic, and {reason}: there it would "
            "gain nothing or fail in the first convolution. Train in float32 instead "
            f"(precision={FLOAT32!r}, the default and the precision of the canonical runs)."
        )


def apply(precision: str) -> None:
    """Make ``precision`` Keras's global policy for the models built next (float32 resets a
    kernel that trained in bfloat16 before)."""
    import keras

    keras.mixed_precision.set_global_policy(precision)


def float32_output(model):  # noqa: ANN001, ANN201 (keras.Model in, keras.Model out)
    """``model`` with its last layer (the softmax) computing in float32, as Keras advises for
    mixed precision; every other layer keeps the global policy."""
    import keras

    last = model.layers[-1]

    def clone(layer):  # noqa: ANN001, ANN202
        config = layer.get_config()
        if layer is last:
            config["dtype"] = FLOAT32
        return layer.__class__.from_config(config)

    return keras.models.clone_model(model, clone_function=clone)
