"""Datasets: one small module per dataset on one shared contract.

    ds = helpers.data.load("cinc2017", path="~/data/training2017")   # a copy you have, read in place
    ds = helpers.data.load("cinc2017")                               # the cache (after `fetch`), else synthetic

Each dataset module declares its metadata (``SPEC``, see :mod:`helpers.data.spec`) and implements ``read(path)``
for its published layout(s), ``fetch(dest)`` where a download is allowed, and ``write_synthetic(path, seed,
size)``. :mod:`helpers.data.source` does the rest once for all of them: real / synthetic / auto, subsetting and ``info``.
Beside it, one job each: :mod:`~helpers.data.registry` (the dataset names, the synthetic marker),
:mod:`~helpers.data.errors` (what readers raise), :mod:`~helpers.data.cache` (where the cache is, atomic writes,
verified files), :mod:`~helpers.data.fetch` (downloads), :mod:`~helpers.data.archives` (zip checks),
:mod:`~helpers.data.safe_pickle` and :mod:`~helpers.data.banner`. Readers import only errors, archives and
safe_pickle; never the orchestrator.

Dataset modules are imported lazily through :func:`get_dataset`, so ``import helpers.data`` stays cheap and a
dataset whose optional dependencies are missing does not break the others.
"""
from __future__ import annotations

# The submodule helpers.data.fetch shares its name with the function bound below: load it first, or its first
# import later (by a dataset module) would replace the function with the module.
import helpers.data.fetch  # noqa: F401
from helpers.data.container import Annotations, Intervals, SignalDataset
from helpers.data.registry import DATASETS, UnknownDatasetError, get_dataset
from helpers.data.source import fetch, info, load, read, write_synthetic
from helpers.data.spec import DatasetSpec

__all__ = ["DATASETS", "Annotations", "DatasetSpec", "Intervals", "SignalDataset", "UnknownDatasetError", "fetch",
           "get_dataset", "info", "load", "read", "write_synthetic"]
