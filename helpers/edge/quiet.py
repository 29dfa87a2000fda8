"""Silence the edge toolchain's own chatter: converter progress lines and its libraries' start-up messages.

litert-torch, TensorFlow and ai-edge-litert print at import and on first use in three ways, and a notebook shows
all three in the cell's output: C++ logging (absl, "Created TensorFlow Lite XNNPACK delegate") written straight to
file descriptors 1 and 2, which ``contextlib.redirect_stderr`` does not catch; Python ``logging`` handlers that
hold the stream they were created with (torch's warnings at torchao's import); and litert-torch's progress log, a
``rich`` console that publishes through IPython's display in a notebook (switched off by its own
``LITERT_TORCH_SHOW_PROGRESS``). Errors still surface as exceptions; set ``HELPERS_EDGE_VERBOSE=1`` to see
everything.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import tempfile

_PROGRESS_ENV = "LITERT_TORCH_SHOW_PROGRESS"


@contextlib.contextmanager
def quiet():
    """Discard what the block prints: Python streams, file descriptors 1 and 2, logging, litert-torch's progress."""
    if os.environ.get("HELPERS_EDGE_VERBOSE"):
        yield
        return
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    progress = os.environ.get(_PROGRESS_ENV)
    os.environ[_PROGRESS_ENV] = "n"
    logging_disabled = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        with tempfile.TemporaryFile() as sink:
            for fd in saved:
                os.dup2(sink.fileno(), fd)
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                yield
    finally:
        for fd, copy in saved.items():
            os.dup2(copy, fd)
            os.close(copy)
        logging.disable(logging_disabled)
        if progress is None:
            os.environ.pop(_PROGRESS_ENV, None)
        else:
            os.environ[_PROGRESS_ENV] = progress
