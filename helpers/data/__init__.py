"""Datasets: one module per dataset, plus ``fetch`` (download/cache) and ``synthetic`` (embedded defaults).

Dataset modules are imported lazily through :func:`get_dataset`, so ``import helpers.data`` stays cheap and a
dataset whose optional dependencies are missing does not break the others.
"""
from __future__ import annotations

import importlib
from types import ModuleType

from helpers.data.container import SignalDataset

# name -> module; each module exposes NAME, CLASS_NAMES, fetch(root), load(root, source=...), write_synthetic(...)
DATASETS: dict[str, str] = {
    "zenodo_af": "helpers.data.zenodo_af",
    "cinc2017": "helpers.data.cinc2017",
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
        With ``NAME``, ``CLASS_NAMES``, ``fetch``, ``load`` and ``write_synthetic``.

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


__all__ = ["DATASETS", "SignalDataset", "UnknownDatasetError", "get_dataset"]
