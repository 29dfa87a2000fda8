"""The registered datasets: name -> module, imported on demand so a missing optional dependency breaks only its own.

Kept apart from :mod:`helpers.data` (the package's public face) and :mod:`helpers.data.source` (which needs the
registry), so neither imports the other late. Also here: the synthetic marker, the one fact a reader needs to know
about where its folder came from.
"""
from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

MARKER = "SYNTHETIC.json"  # written last into every synthetic folder: its presence means the set is complete

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
        With ``SPEC``, ``read``, ``fetch`` and ``write_synthetic``.

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


def is_synthetic_folder(path: Path | str) -> bool:
    """True when ``path`` (a folder, or a file inside one) carries the synthetic marker :data:`MARKER`."""
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    return (folder / MARKER).is_file()
