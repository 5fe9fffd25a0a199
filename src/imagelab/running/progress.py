"""Progress within an epoch, for a notebook open in JupyterLab: one line that moves.

``training.EpochLog`` prints one line per epoch, which is what a log wants (papermill, `make
lab`) but leaves a notebook silent for the length of an epoch (25 s for the MNIST CNN, 40 s
for CIFAR-10 on two cores). ``showing`` adds, for one ``fit``, a Keras callback that redraws a
single line in the cell while the epoch runs: a bar, steps done, seconds, and the time left in
the epoch and in all. It is drawn only in a Jupyter kernel, as an HTML display updated in place
(``display_id``): papermill logs a cell's streams and the plain text of what it displays, and
an update of an HTML-only display is neither, so logs keep one line per epoch.

Training code is fingerprinted (``fingerprint.TRAINING_CODE``) and this is not: the callback
only reads the step counter and the clock, so the numbers trained are the same with it or
without it (tests/test_progress.py trains both ways and compares them byte for byte). It is
added from outside ``training.fit``, which builds its own callback list, by wrapping the model's
``fit`` for the duration of the call.
"""

from __future__ import annotations

import contextlib
import html
import time
from collections.abc import Callable, Iterator

BAR = 24  # characters of the bar
EVERY = 0.5  # seconds between two redraws within an epoch


def duration(seconds: float) -> str:
    """'8 s', '1 min 40 s', '1 h 2 min': a duration as a person reads it."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


class Progress:
    """Where a training stands (epoch, step, times) and the line that says so; no Keras."""

    def __init__(self, label: str, epochs: int, steps: int | None = None) -> None:
        self.label, self.epochs, self.steps = label, epochs, steps
        self.epoch_seconds: list[float] = []  # of the epochs finished

    def line(self, epoch: int, done: int, elapsed: float) -> str:
        """The line after ``done`` steps of epoch ``epoch`` (from 1), ``elapsed`` seconds in."""
        head = f"[{self.label}] epoch {epoch}/{self.epochs}"
        if not self.steps:
            return f"{head}  {done} steps  {duration(elapsed)}"
        done = min(done, self.steps)  # Keras counts a last, short call into TF as a full one
        share = done / self.steps
        bar = "█" * round(BAR * share) + "░" * (BAR - round(BAR * share))
        text = f"{head}  {bar} {done}/{self.steps} steps  {duration(elapsed)}"
        if done == 0:
            return text
        this_epoch = elapsed / share - elapsed
        per_epoch = (
            sum(self.epoch_seconds) / len(self.epoch_seconds)
            if self.epoch_seconds
            else elapsed / share
        )
        in_all = this_epoch + per_epoch * (self.epochs - epoch)
        return f"{text}, about {duration(this_epoch)} left in this epoch, {duration(in_all)} in all"

    def epoch_done(self, epoch: int, seconds: float) -> str:
        """Note a finished epoch of ``seconds``; the line that says so."""
        self.epoch_seconds.append(seconds)
        left = (self.epochs - epoch) * sum(self.epoch_seconds) / len(self.epoch_seconds)
        after = f", about {duration(left)} left" if epoch < self.epochs else ""
        return f"[{self.label}] epoch {epoch}/{self.epochs} done in {duration(seconds)}{after}"

    def finished(self) -> str:
        total = sum(self.epoch_seconds)
        return f"[{self.label}] trained {len(self.epoch_seconds)} epochs in {duration(total)}"


def notebook_display() -> Callable[[str], None] | None:
    """A function that shows a line in place in the running notebook cell, or None outside a
    Jupyter kernel (a script, a test, IPython in a terminal)."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        return None
    shell = get_ipython()
    if shell is None or type(shell).__name__ != "ZMQInteractiveShell":
        return None
    handle = display({"text/html": ""}, raw=True, display_id=True)

    def show(text: str) -> None:
        handle.update({"text/html": f"<pre>{html.escape(text)}</pre>"}, raw=True)

    return show


def callback(progress: Progress, show: Callable[[str], None]) -> object:
    """A Keras callback that draws ``progress`` with ``show`` while a model trains."""
    import keras

    class _Progress(keras.callbacks.Callback):
        def on_train_begin(self, logs: dict | None = None) -> None:
            progress.steps = progress.steps or self.params.get("steps")

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self.epoch, self.started, self.shown = epoch + 1, time.perf_counter(), 0.0
            show(progress.line(self.epoch, 0, 0.0))

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            now = time.perf_counter()
            if now - self.shown >= EVERY:
                self.shown = now
                show(progress.line(self.epoch, batch + 1, now - self.started))

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            show(progress.epoch_done(epoch + 1, time.perf_counter() - self.started))

        def on_train_end(self, logs: dict | None = None) -> None:
            show(progress.finished())

    return _Progress()


@contextlib.contextmanager
def showing(
    model: object, label: str, epochs: int, steps: int | None = None, show: Callable | None = None
) -> Iterator:
    """While the block runs, every ``model.fit`` also draws its progress with ``show`` (by
    default in the notebook cell; outside a kernel nothing is added). ``steps``: batches per
    epoch, when known (else Keras's count, when it has one)."""
    show = show or notebook_display()
    if show is None:
        yield
        return
    fit, bar = model.fit, callback(Progress(label, epochs, steps), show)

    def fit_with_progress(*args: object, callbacks: list | None = None, **kwargs: object) -> object:
        return fit(*args, callbacks=[*(callbacks or []), bar], **kwargs)

    model.fit = fit_with_progress
    try:
        yield
    finally:
        del model.fit
