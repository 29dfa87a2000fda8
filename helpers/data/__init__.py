"""Datasets: one small module per dataset on one shared contract.

    ds = helpers.data.load("cinc2017", path="~/data/training2017")   # a copy you have, read in place
    ds = helpers.data.load("cinc2017")                               # the cache (after `fetch`), else synthetic

Each dataset module declares its metadata (``SPEC``, see :mod:`helpers.data.spec`) and implements ``read(path)``
for its published layout(s), ``fetch(dest)`` where a download is allowed, and ``write_synthetic(path, seed,
size)``. :mod:`helpers.data.source` does the rest once for all of them: real / synthetic / auto, the banner, the
synthetic marker, subsetting, ``info`` and errors. :mod:`helpers.data.fetch` downloads into the cache.

Dataset modules are imported lazily through :func:`get_dataset`, so ``import helpers.data`` stays cheap and a
dataset whose optional dependencies are missing does not break the others.
"""
from __future__ import annotations

import importlib
from types import ModuleType

from helpers.data.container import SignalDataset

# name -> module; each module exposes SPEC, read(path), fetch(dest), write_synthetic(path, seed=, size=)
DATASETS: dict[str, str] = {
    "zenodo_af": "helpers.data.zenodo_af",
    "cinc2017": "helpers.data.cinc2017",
    "deap": "helpers.data.deap",
    "mitbih": "helpers.data.mitbih",
    "wesad": "helpers.data.wesad",
}


class UnknownDatasetError(KeyError):
    """The name is not in :data:`DATASETS`; the message lists the known ones."""

    def __str__(self) -> str:  # KeyError would print the message in quotes
        return str(self.args[0])


def get_dataset(name: str) -> ModuleType:
    """The dataset module registered as ``name``.

    Parameters
    ----------
    name : str
        A key of :data:`DATASETS`, e.g. ``"cinc2017"``.

    Returns
    -------
    module
        With ``SPEC``, ``read``, ``fetch`` and ``write_synthetic`` (and a ``load`` shortcut).

    Raises
    ------
    UnknownDatasetError
        ``name`` is not registered (the message lists the known names).
    """
    if name not in DATASETS:
        raise UnknownDatasetError(f"unknown dataset {name!r}; known datasets: {', '.join(sorted(DATASETS))}")
    module_name = DATASETS[name]
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name != module_name:
            raise  # a missing dependency inside the module: show it as it is
        raise UnknownDatasetError(f"dataset {name!r} is registered but its module {module_name} is not "
                                  "installed in this copy of the course") from err


# The submodule helpers.data.fetch shares its name with the function bound below: load it first, or its first
# import later (by a dataset module) would replace the function with the module.
import helpers.data.fetch  # noqa: F401
from helpers.data.container import Annotations, Intervals
from helpers.data.source import fetch, info, load, read, write_synthetic
from helpers.data.spec import DatasetSpec

__all__ = ["DATASETS", "Annotations", "DatasetSpec", "Intervals", "SignalDataset", "UnknownDatasetError", "fetch",
           "get_dataset", "info", "load", "read", "write_synthetic"]
