"""TensorFlow, imported without its C++ start-up chatter: the lab's one way to import it, so a
module that trains (or reads Keras data) needs nothing above the lab to stay quiet."""

import os
import sys


def quiet_tensorflow() -> None:
    """Import TensorFlow with its C++ start-up chatter (CUDA probing) sent to /dev/null.

    That chatter goes straight to file descriptor 2 before TensorFlow's log settings apply,
    so it would otherwise fill every notebook and the report with warnings about absent GPUs.
    """
    if "tensorflow" in sys.modules:
        return
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
