"""Near-real-time classification: samples arrive one at a time into a ring buffer, and each window is classified
the moment it completes; the time each classification takes is the per-window latency.

A real-time budget. With 1 s windows and 50% overlap a new window completes every 0.5 s, so a classifier must
take well under 500 ms per window on the target CPU, on one thread (an embedded board, or a laptop that is also
drawing the interface). :func:`latency_table` measures median and 99th-percentile latency (the tail is what
drops windows) beside accuracy for several model sizes, so the trade-off is a table, not a guess.
"""
from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["RingBuffer", "StreamResult", "as_window_classifier", "latency_table", "one_thread", "stream"]


class RingBuffer:
    """A fixed-capacity buffer of the most recent samples of a multi-channel signal.

    Samples are written at a moving position modulo ``capacity`` (no reallocation, no shifting), and read back in
    time order by absolute sample index.

    Parameters
    ----------
    n_channels : int
    capacity : int
        Samples kept; older ones are overwritten.
    dtype : numpy dtype
        Default float32 (what the models take).

    Attributes
    ----------
    n_seen : int
        Samples pushed since creation: the absolute index one past the newest sample.
    """

    def __init__(self, n_channels: int, capacity: int, dtype=np.float32):
        if n_channels < 1 or capacity < 1:
            raise ValueError(f"n_channels and capacity must be >= 1, got {n_channels} and {capacity}")
        self.n_channels, self.capacity = int(n_channels), int(capacity)
        self._data = np.zeros((self.n_channels, self.capacity), dtype)
        self.n_seen = 0

    def __len__(self) -> int:
        """Samples currently held: ``min(n_seen, capacity)``."""
        return min(self.n_seen, self.capacity)

    def push(self, samples) -> None:
        """Append ``samples`` ``(n_channels, m)`` (or ``(n_channels,)`` for one sample), oldest first."""
        x = np.asarray(samples, dtype=self._data.dtype)
        if x.ndim == 1:
            x = x[:, None]
        if x.ndim != 2 or x.shape[0] != self.n_channels:
            raise ValueError(f"push expects ({self.n_channels}, m) samples, got shape {np.shape(samples)}")
        m = x.shape[1]
        if m > self.capacity:  # only the newest `capacity` samples can be kept
            x, skipped = x[:, -self.capacity:], m - self.capacity
            self.n_seen += skipped
            m = self.capacity
        start = self.n_seen % self.capacity
        first = min(m, self.capacity - start)
        self._data[:, start:start + first] = x[:, :first]
        self._data[:, :m - first] = x[:, first:]  # the part that wraps around to the front
        self.n_seen += m

    def get(self, start: int, stop: int) -> np.ndarray:
        """Samples ``start .. stop - 1`` (absolute indices) in time order, a ``(n_channels, stop - start)`` copy.

        Raises
        ------
        IndexError
            Part of the range was already overwritten (older than ``capacity`` samples) or not pushed yet.
        """
        if not (self.n_seen - len(self) <= start <= stop <= self.n_seen):
            raise IndexError(f"samples {start}..{stop - 1} are not in the buffer: it holds "
                             f"{self.n_seen - len(self)}..{self.n_seen - 1} (capacity {self.capacity})")
        idx = np.arange(start, stop) % self.capacity
        return self._data[:, idx]

    def latest(self, n: int) -> np.ndarray:
        """The newest ``n`` samples, ``(n_channels, n)``, oldest first."""
        return self.get(self.n_seen - n, self.n_seen)


@dataclass
class StreamResult:
    """What :func:`stream` returns: one row per classified window.

    Attributes
    ----------
    end_s : np.ndarray
        float64 ``(n,)``: time at which each window completed (its last sample), seconds from the stream start.
    proba : np.ndarray
        float64 ``(n, n_outputs)``.
    latency_ms : np.ndarray
        float64 ``(n,)``: wall-clock milliseconds of each classification (features and model, not the buffer).
    """

    end_s: np.ndarray
    proba: np.ndarray
    latency_ms: np.ndarray

    def __len__(self) -> int:
        return len(self.end_s)


@contextlib.contextmanager
def one_thread():
    """Run torch on one CPU thread inside the block (restored after): latency as a small device would see it."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def as_window_classifier(model, features: Callable | None = None) -> Callable[[np.ndarray], np.ndarray]:
    """A function ``f(x (C, L)) -> class probabilities (K,)`` from a torch model or an sklearn classifier.

    Parameters
    ----------
    model : torch.nn.Module, sklearn classifier, or callable
        A torch model is put in eval mode and called on ``(1, C, L)`` float32 under ``torch.inference_mode``; a
        classifier's ``predict_proba`` gets ``features(x[None])``; any other callable is returned as it is.
    features : callable, optional
        ``(1, C, L) -> (1, F)`` for a classifier on features (e.g. band power).
    """
    try:
        import torch
        is_torch = isinstance(model, torch.nn.Module)
    except ImportError:  # pragma: no cover
        is_torch = False
    if is_torch:
        model.eval()

        def classify(x: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                logits = model(torch.from_numpy(np.ascontiguousarray(x, np.float32))[None])
            return torch.softmax(logits, dim=-1)[0].double().numpy()
        return classify
    if hasattr(model, "predict_proba"):
        if features is None:
            raise ValueError("an sklearn classifier needs features=: a function (1, C, L) -> (1, F)")
        return lambda x: model.predict_proba(features(x[None]))[0]
    if callable(model):
        return model
    raise TypeError(f"model must be a torch module, an sklearn classifier or a callable, got {type(model).__name__}")


def stream(model, signal, fs: float, window_s: float = 1.0, step_s: float = 0.5, *, context_s: float | None = None,
           chunk: int = 1, features: Callable | None = None, transform: Callable | None = None) -> StreamResult:
    """Feed ``signal`` into a ring buffer ``chunk`` samples at a time and classify every window as it completes.

    Window k covers samples ``[k * step, k * step + window)`` and is classified once its last sample has arrived.

    Parameters
    ----------
    model : torch model, sklearn classifier or callable
        See :func:`as_window_classifier`.
    signal : array, shape (C, T)
        The recording to replay, in the units the model was trained on.
    fs : float
        Hz.
    window_s, step_s : float
        Window length and hop in seconds.
    context_s : float, optional
        Give the model the newest ``context_s`` seconds (or all so far, if fewer) instead of the window alone:
        a sequence model (e.g. ``EEGCNNLSTM``) then reads several windows. Must be >= ``window_s``.
    chunk : int
        Samples per push (1: sample by sample, as an acquisition callback delivers them).
    features : callable, optional
        For an sklearn classifier: ``(1, C, L) -> (1, F)``.
    transform : callable, optional
        ``x (C, L) -> x`` before the model, e.g. the subject's normalisation from a calibration period.

    Returns
    -------
    StreamResult
        ``end_s``, ``proba`` and ``latency_ms`` per window; ``(T - window) // step + 1`` windows.
    """
    x = np.asarray(signal, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"signal must be (channels, samples), got shape {x.shape}")
    win, hop = round(window_s * fs), round(step_s * fs)
    ctx = win if context_s is None else round(context_s * fs)
    if win < 1 or hop < 1 or ctx < win:
        raise ValueError(f"need window >= 1, step >= 1 and context >= window samples; got window={win}, "
                         f"step={hop}, context={ctx} at fs={fs:g} Hz")
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1 sample, got {chunk}")
    classify = as_window_classifier(model, features)
    buf = RingBuffer(x.shape[0], ctx + chunk)  # + chunk: a push may complete a window and run past it
    next_end = win
    ends, probas, lat = [], [], []
    for i in range(0, x.shape[1], chunk):
        buf.push(x[:, i:i + chunk])
        while next_end <= buf.n_seen:
            seg = buf.get(max(0, next_end - ctx), next_end)  # (C, <= ctx), ends with the completed window
            t0 = time.perf_counter()
            p = classify(transform(seg) if transform is not None else seg)
            lat.append((time.perf_counter() - t0) * 1e3)
            ends.append(next_end / fs)
            probas.append(np.asarray(p, dtype=np.float64))
            next_end += hop
    proba = np.stack(probas) if probas else np.zeros((0, 0))
    return StreamResult(end_s=np.asarray(ends, dtype=np.float64), proba=proba,
                        latency_ms=np.asarray(lat, dtype=np.float64))


def latency_table(models: Mapping[str, object], signal, fs: float, window_s: float = 1.0, step_s: float = 0.5, *,
                  context_s: float | Mapping[str, float] | None = None, features: Mapping[str, Callable] | None = None,
                  accuracy: Mapping[str, float] | None = None, warmup: int = 5) -> pd.DataFrame:
    """Per-window latency of several models on one CPU thread, beside their accuracy.

    Parameters
    ----------
    models : mapping name -> model
        Torch models, sklearn classifiers (with ``features[name]``) or callables (:func:`as_window_classifier`).
    signal : array, shape (C, T)
        Replayed through :func:`stream` for each model.
    fs, window_s, step_s : float
    context_s : float or mapping name -> float, optional
        Seconds of context per classification (sequence models); default the window alone.
    features : mapping name -> callable, optional
        Feature functions of the sklearn models.
    accuracy : mapping name -> float, optional
        Measured elsewhere (e.g. LOSO); copied into the table.
    warmup : int
        Windows classified before timing (first calls allocate and pick kernels).

    Returns
    -------
    pandas.DataFrame
        One row per model: ``model``, ``n_parameters`` (torch models), ``median_ms``, ``p99_ms``, ``max_ms``,
        ``n_windows``, ``budget_ms`` (the hop: a window must be classified before the next one completes),
        ``accuracy``.
    """
    from helpers.models.base import num_parameters  # torch only when a table is made (see one_thread)

    features = features or {}
    rows = []
    with one_thread():
        for name, model in models.items():
            ctx = context_s.get(name) if isinstance(context_s, Mapping) else context_s
            classify = as_window_classifier(model, features.get(name))
            sig = np.asarray(signal, dtype=np.float32)
            n_ctx = round((ctx or window_s) * fs)
            for _ in range(warmup):
                classify(sig[:, :n_ctx])
            res = stream(classify, sig, fs, window_s, step_s, context_s=ctx)
            n_params = num_parameters(model) if hasattr(model, "parameters") else None
            rows.append({"model": name, "n_parameters": n_params,
                         "median_ms": float(np.median(res.latency_ms)),
                         "p99_ms": float(np.percentile(res.latency_ms, 99)), "max_ms": float(res.latency_ms.max()),
                         "n_windows": len(res), "budget_ms": step_s * 1e3,
                         "accuracy": None if accuracy is None else accuracy.get(name)})
    return pd.DataFrame(rows)
