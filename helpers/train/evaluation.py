"""Predictions and metrics of a trained classifier: the numbers ``fit`` reports as ``val_*``."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import f1_score, roc_auc_score
from torch import nn

from .batches import as_label_tensor, as_signal_tensor
from .records import Records


def classification_metrics(logits: torch.Tensor, y: torch.Tensor, n_outputs: int) -> dict[str, float]:
    """loss (plain cross-entropy), accuracy, macro_f1 and, for 2 classes, roc_auc of P(class 1).

    The loss is unweighted and unsmoothed whatever the training loss, so that it is a proper score comparable
    across runs; roc_auc is nan when only one class is present.
    """
    logits, y = logits.float().cpu(), y.cpu()
    pred = logits.argmax(1).numpy()
    out = {"loss": F.cross_entropy(logits, y).item(), "accuracy": float((pred == y.numpy()).mean()),
           "macro_f1": float(f1_score(y.numpy(), pred, labels=list(range(n_outputs)), average="macro",
                                      zero_division=0))}
    if n_outputs == 2:
        both = len(np.unique(y.numpy())) == 2
        out["roc_auc"] = float(roc_auc_score(y.numpy(), logits.softmax(1)[:, 1].numpy())) if both else math.nan
    return out


def evaluate(model: nn.Module, X, y=None, batch_size: int = 256) -> dict[str, float]:
    """Metrics of ``model`` on ``(X, y)``: the same numbers ``fit`` reports as ``val_*``.

    Parameters
    ----------
    model : nn.Module
    X : array or tensor, shape (n, C, T), or Records
        Records are scored whole (their ``crop`` is ignored), in length-bucketed batches with padding masks.
    y : array of int, shape (n,), or None with Records (their own labels)
    batch_size : int

    Returns
    -------
    dict
        ``loss``, ``accuracy``, ``macro_f1`` and, for binary tasks, ``roc_auc``.
    """
    logits = torch.from_numpy(_logits(model, X, batch_size))
    y = X.labels if y is None and isinstance(X, Records) else y
    y = as_label_tensor(y, len(logits), logits.shape[1])
    return classification_metrics(logits, y, logits.shape[1])


def predict_proba(model: nn.Module, X, batch_size: int = 256) -> np.ndarray:
    """Class probabilities (softmax of the logits).

    Parameters
    ----------
    model : nn.Module
    X : array or tensor, shape (n, C, T), or Records
        Records are scored whole (their ``crop`` is ignored), row ``i`` for record ``i``.
    batch_size : int

    Returns
    -------
    np.ndarray float32, shape (n, n_outputs)
        Rows sum to 1; column 1 is P(positive) for binary tasks.
    """
    return torch.from_numpy(_logits(model, X, batch_size)).softmax(1).numpy()


def _logits(model: nn.Module, X, batch_size: int) -> np.ndarray:
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            if isinstance(X, Records):
                return _record_logits(model, X, batch_size, device)
            X = as_signal_tensor(X)
            out = [model(X[i:i + batch_size].to(device)).float().cpu() for i in range(0, len(X), batch_size)]
    finally:
        model.train(was_training)
    return torch.cat(out).numpy()


def _record_logits(model: nn.Module, records: Records, batch_size: int, device: torch.device) -> np.ndarray:
    """Logits (n, K) of whole records, batched by length, back in record order."""
    whole = records.with_crop(None)
    out, order = [], []
    for idx in whole.batches(batch_size).plan():
        x, _, mask = whole.batch(idx)
        out.append(model(x.to(device), padding_mask=None if mask is None else mask.to(device)).float().cpu())
        order.append(idx)
    logits = torch.cat(out).numpy()
    result = np.empty_like(logits)
    result[np.concatenate(order)] = logits
    return result


@torch.no_grad()
def collect_logits(model: nn.Module, loader, device: torch.device,
                   n_outputs: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits ``(n, K)`` float32 and labels ``(n,)`` int64 of every batch of ``loader``, in eval mode.

    A loader with no batches (under DDP, a rank whose validation shard is empty because the validation set has
    fewer examples than there are ranks) gives ``(0, K)`` logits and ``(0,)`` labels, so that gathering the
    shards of all ranks still works. ``K`` is ``n_outputs``, else ``model.n_outputs``, else found by running the
    model on the first example of ``loader.dataset``.
    """
    # the raw model, not the DDP wrapper: ranks hold different numbers of validation batches, and DDP's forward
    # may talk to the other ranks. Full precision, no autocast: the numbers that choose the kept checkpoint
    # should not depend on the precision chosen for speed (and they then equal evaluate()'s)
    model.eval()
    logits, targets = [], []
    for batch in loader:  # (x, y) or (x, y, padding_mask)
        x, y, mask = batch if len(batch) == 3 else (*batch, None)
        x = x.to(device, non_blocking=True)
        logits.append((model(x) if mask is None else model(x, padding_mask=mask.to(device))).float())
        targets.append(y.to(device))
    if not logits:
        return (torch.zeros((0, _n_outputs(model, loader, device, n_outputs)), device=device),
                torch.zeros(0, dtype=torch.long, device=device))
    return torch.cat(logits), torch.cat(targets)


def _n_outputs(model: nn.Module, loader, device: torch.device, n_outputs: int | None) -> int:
    n_outputs = n_outputs or getattr(model, "n_outputs", None)
    if n_outputs:
        return int(n_outputs)
    ds = getattr(loader, "dataset", None)
    if ds is None or len(ds) == 0:
        raise ValueError("cannot tell the number of outputs: the loader is empty and the model has no n_outputs; "
                         "pass n_outputs")
    return model(torch.as_tensor(ds[0][0])[None].float().to(device)).shape[-1]


# --------------------------------------------------------------------------------------------------------------
# Record-level prediction: a record (one patient's recording) is cut into windows, the model scores each window,
# and the clinical question is about the record. These two functions replace the np.bincount every notebook
# used to write by hand.
# --------------------------------------------------------------------------------------------------------------
AGGREGATIONS = ("mean", "median", "max")


def aggregate_by_record(proba, record_ids, how: str = "mean") -> tuple[np.ndarray, np.ndarray]:
    """Combine the class probabilities of the windows of each record into one row per record.

    Parameters
    ----------
    proba : array, shape (n_windows, K)
        Per-window class probabilities (rows of :func:`predict_proba`); any per-window scores work.
    record_ids : array, shape (n_windows,)
        The record each window was cut from (integers or strings), e.g. ``windows.record_index``.
    how : {"mean", "median", "max"}
        ``"mean"`` averages the windows (the usual choice); ``"median"`` ignores a minority of odd windows;
        ``"max"`` takes each class's highest window score, so one suspicious window flags the record
        (more sensitive, less specific, e.g. for paroxysmal AF). The rows of ``"median"`` and ``"max"`` need not
        sum to 1.

    Returns
    -------
    records : np.ndarray, shape (n_records,)
        The distinct record ids in sorted order (as ``np.unique`` returns them).
    proba : np.ndarray float64, shape (n_records, K)
        Row ``i`` aggregates the windows of ``records[i]``.

    Examples
    --------
    >>> p = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6]])
    >>> aggregate_by_record(p, [7, 3, 7])
    (array([3, 7]), array([[0.2 , 0.8 ],
           [0.65, 0.35]]))

    Record labels the same way: ``_, y_rec = aggregate_by_record(y[:, None], record_ids)`` gives each record's
    label (as a float column) when every window carries its record's label.
    """
    proba, record_ids = np.asarray(proba), np.asarray(record_ids)
    if proba.ndim != 2:
        hint = " (for P(positive) alone pass proba[:, None])" if proba.ndim == 1 else ""
        raise ValueError(f"proba must have shape (n_windows, n_outputs), got {proba.shape}{hint}")
    if record_ids.ndim != 1 or len(record_ids) != len(proba):
        raise ValueError(f"proba has {len(proba)} rows (windows) but record_ids has shape {record_ids.shape}: "
                         "pass one record id per window, shape (n_windows,)")
    if how not in AGGREGATIONS:
        raise ValueError(f"how must be one of {AGGREGATIONS}, got {how!r}")
    records, inverse = np.unique(record_ids, return_inverse=True)
    proba = proba.astype(np.float64)
    out = np.zeros((len(records), proba.shape[1]))
    if how == "mean":
        np.add.at(out, inverse, proba)
        out /= np.bincount(inverse, minlength=len(records))[:, None]
    elif how == "max":
        out.fill(-np.inf)
        np.maximum.at(out, inverse, proba)
    else:
        for i in range(len(records)):
            out[i] = np.median(proba[inverse == i], axis=0)
    return records, out


def predict_records(model: nn.Module, X, record_ids, batch_size: int = 256,
                    how: str = "mean") -> tuple[np.ndarray, np.ndarray]:
    """Record-level class probabilities: :func:`predict_proba` on every window, then :func:`aggregate_by_record`.

    Parameters
    ----------
    model : nn.Module
    X : array or tensor, shape (n_windows, C, T)
    record_ids : array, shape (n_windows,)
        The record each window came from.
    batch_size : int
    how : {"mean", "median", "max"}

    Returns
    -------
    records : np.ndarray, shape (n_records,)
        Sorted distinct record ids.
    proba : np.ndarray float64, shape (n_records, n_outputs)
    """
    if len(np.asarray(record_ids)) != len(X):
        raise ValueError(f"X has {len(X)} windows but record_ids has {len(np.asarray(record_ids))} entries: "
                         "pass one record id per window")
    return aggregate_by_record(predict_proba(model, X, batch_size), record_ids, how)
