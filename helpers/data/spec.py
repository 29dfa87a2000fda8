"""What a dataset module declares about itself: :class:`DatasetSpec`.

Each dataset module (``zenodo_af``, ``cinc2017``, ...) holds only what is specific to its dataset::

    SPEC = DatasetSpec(name=..., ...)                          # this file: metadata
    def read(path, **options) -> SignalDataset                 # its published layout(s), read in place
    def fetch(dest, *, progress=True) -> Path                  # download into dest (only if SPEC.auto_download)
    def write_synthetic(path, *, seed=0, size=None) -> Path    # the embedded default, in the real format

and :mod:`helpers.data.source` does the rest once for all of them (real / synthetic / auto, the banner, the
synthetic marker, subsetting, ``info``, errors).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DatasetSpec:
    """Metadata of one dataset.

    Attributes
    ----------
    name : str
        Registry name, e.g. ``"cinc2017"`` (also the cache sub-folder).
    title : str
        One line a person reads, e.g. ``"PhysioNet/CinC Challenge 2017 (single-lead ECG, AF)"``.
    class_names : tuple of str
        Name of each integer label value.
    licence : str
        Licence of the real data (e.g. ``"ODC-By 1.0"``).
    citation : str
        What to cite.
    homepage : str
        Where the real data are published.
    get_it : str
        How a user obtains the real data (one or two sentences; shown in errors and ``info``).
    expected_layout : str
        What a folder of the real data looks like (shown when a folder does not match).
    auto_download : bool
        False when the licence forbids downloading on the user's behalf (DEAP, WESAD): then ``fetch`` refuses and
        explains ``get_it``.
    synthetic_size : int
        Default size of the embedded synthetic set (records, or subjects where the dataset counts those).
    synthetic_version : str
        Version of the generator; part of the cache folder's name, so a new simulator never reuses stale files.
    """

    name: str
    title: str
    class_names: tuple[str, ...]
    licence: str
    citation: str
    homepage: str
    get_it: str
    expected_layout: str
    auto_download: bool
    synthetic_size: int
    synthetic_version: str
