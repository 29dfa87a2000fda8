"""Where data come from, decided once for every dataset: a user's folder, the cache, or the synthetic default.

Three places, three rules:

* **A folder the user names** (``load(name, path=DIR)``, ``--path DIR``) is read in place, in the dataset's
  published layout, and never written to. A missing or malformed dataset there is an error that names the folder
  and what was expected: never a silent switch to synthetic data.
* **The cache** (``$BIOSIGNAL_DATA``, default ``~/.cache/biosignal-course``) holds only what :func:`fetch`
  downloads (``<cache>/<name>/real``) and what the synthetic generators write
  (``<cache>/<name>/synthetic/<version>-seed<seed>-n<size>``).
* **The synthetic default** is written in the real format by the dataset's ``write_synthetic`` and read back by
  its ``read``, with a ``SYNTHETIC.json`` marker beside it; every dataset read from a marked folder says
  ``source == "synthetic"``, and loading it shows one banner (HTML in a notebook, stderr elsewhere).
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from helpers.data.banner import show_banner
from helpers.data.cache import atomic_dir, atomic_write, cache_root
from helpers.data.container import SignalDataset
from helpers.data.errors import (
    DamagedFileError,
    DataFormatError,
    DataUnavailableError,
    damage_advice,
    is_symlink_loop,
)
from helpers.data.registry import MARKER, get_dataset, is_synthetic_folder

IN_PROGRESS = "FETCH_IN_PROGRESS"  # present while fetch runs: an interrupted fetch is never taken as real data
SOURCES = ("auto", "real", "synthetic")


def _module(name: str) -> ModuleType:
    return get_dataset(name)


# ---------------------------------------------------------------- paths (computing them never creates anything)

def real_cache_dir(name: str, root: Path | str | None = None) -> Path:
    """``<cache>/<name>/real``: where :func:`fetch` puts the verified real files (not created here)."""
    return cache_root(root) / name / "real"


def synthetic_cache_dir(name: str, root: Path | str | None = None, *, seed: int = 0,
                        size: int | None = None) -> Path:
    """``<cache>/<name>/synthetic/<version>-seed<seed>-n<size>`` (not created here)."""
    spec = _module(name).SPEC
    size = spec.synthetic_size if size is None else size
    return cache_root(root) / name / "synthetic" / f"{spec.synthetic_version}-seed{seed}-n{size}"


def _under_cache(path: Path) -> bool:
    """True when ``path`` lies in the default cache (``$BIOSIGNAL_DATA`` or ``~/.cache/biosignal-course``)."""
    try:
        path.resolve().relative_to(cache_root().resolve())
    except (ValueError, OSError, DataUnavailableError):
        return False
    return True


def _has_real(folder: Path) -> bool:
    # Files the user copied into the cache by hand count; an interrupted fetch (its marker still there) does not.
    return (folder.is_dir() and not (folder / IN_PROGRESS).exists()
            and any(p.name != IN_PROGRESS for p in folder.iterdir()))


# ---------------------------------------------------------------- reading

def read(name: str, path: Path | str, **options: Any) -> SignalDataset:
    """Read dataset ``name`` in place from ``path`` (a folder in the dataset's published layout).

    Nothing is written under ``path``. The result says ``source="synthetic"`` when the folder carries the
    synthetic marker, ``"real"`` otherwise.

    Parameters
    ----------
    name : str
        Registered dataset name.
    path : path-like
        The folder (or, for datasets published as single files, the file) to read.
    **options
        Passed to the dataset's ``read`` (e.g. ``classes="NA"`` for ``cinc2017``, ``fs=`` for ``zenodo_af``).

    Raises
    ------
    DataUnavailableError
        ``path`` does not exist (the message says what the dataset looks like and how to get it).
    DataFormatError
        ``path`` holds no readable dataset, an empty one, or a malformed file (the message names it).
    """
    return _read(name, Path(path).expanduser(), None, options)


def _read(name: str, path: Path, in_cache: bool | None, options: dict[str, Any]) -> SignalDataset:
    """:func:`read`; ``in_cache`` says whose folder ``path`` is (None: under the default cache root or not)."""
    module = _module(name)
    spec = module.SPEC
    if is_symlink_loop(path):
        raise DataFormatError(f"{path}: is a symbolic-link loop (a link that leads back to itself); point it at "
                              f"the real folder. {spec.title} is expected there as {spec.expected_layout}.")
    if not path.exists():
        raise DataUnavailableError(f"{path}: no such folder. {spec.title} is expected there as "
                                   f"{spec.expected_layout}. {spec.get_it}")
    try:
        ds = module.read(path, **options)
    except DamagedFileError as err:
        in_cache = _under_cache(path) if in_cache is None else in_cache
        raise err.with_advice(damage_advice(in_cache, name)) from None
    except (DataFormatError, DataUnavailableError):
        raise
    except (OSError, UnicodeDecodeError) as err:  # permissions, a FIFO, a file that is not text: name the path
        where = getattr(err, "filename", None) or path
        raise DataFormatError(f"{where}: cannot read it as part of {name} ({type(err).__name__}: {err})") from None
    if len(ds) == 0:
        raise DataFormatError(f"{path}: holds no {name} records (expected {spec.expected_layout})")
    if is_synthetic_folder(path):
        ds.source = "synthetic"
        ds.metadata["synthetic"] = json.loads((path if path.is_dir() else path.parent).joinpath(MARKER).read_text())
    ds.metadata.setdefault("path", str(path))
    return ds


def load(name: str, path: Path | str | None = None, *, source: str = "auto", root: Path | str | None = None,
         limit: int | None = None, seed: int = 0, synthetic_size: int | None = None,
         **options: Any) -> SignalDataset:
    """Load dataset ``name`` from a folder the user has, from the cache, or the embedded synthetic default.

    Parameters
    ----------
    name : str
        Registered dataset name (``helpers.data.DATASETS``).
    path : path-like, optional
        A folder holding the real dataset in its published layout: read in place, never written to. With
        ``path``, ``source`` may be ``"auto"`` or ``"real"`` and a missing or malformed dataset is an error.
    source : {"auto", "real", "synthetic"}
        Without ``path``: ``"real"`` reads what :func:`fetch` put in the cache (error if absent),
        ``"synthetic"`` the embedded default, ``"auto"`` real when fetched, else synthetic with a banner.
    root : path-like, optional
        Cache root (default ``$BIOSIGNAL_DATA``, else ``~/.cache/biosignal-course``).
    limit : int, optional
        Keep at most this many records, taking whole subjects in a seeded random order (see
        :func:`subset_by_subject`).
    seed : int
        Seed of the synthetic set and of the ``limit`` subset.
    synthetic_size : int, optional
        Size of the synthetic set when one is used (records, or subjects where the dataset counts those; default
        the dataset's ``SPEC.synthetic_size``). Each size is generated once and cached on its own; a CI-sized
        notebook asks for a small one instead of generating the full default.
    **options
        Passed to the dataset's ``read``.

    Returns
    -------
    SignalDataset

    Raises
    ------
    DataUnavailableError
        The requested data are not there; the message says how to get them.
    DataFormatError
        A malformed dataset; the message names the file and the problem.
    """
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    spec = _module(name).SPEC
    if path is not None:
        if source == "synthetic":
            raise ValueError(f"path={str(path)!r} names a folder of real data; source='synthetic' cannot be combined "
                             "with it (drop path to use the embedded synthetic set)")
        ds = _read(name, Path(path).expanduser(), None, options)
    else:
        real = real_cache_dir(name, root)
        if source == "real" or (source == "auto" and _has_real(real)):
            if (real / IN_PROGRESS).exists():
                raise DataUnavailableError(f"{real}: an earlier download of {name} was interrupted, so the folder is "
                                           f"incomplete. Run `python -m helpers data fetch {name}` again (verified "
                                           "files are kept), or use source='synthetic'.")
            if not _has_real(real):
                raise DataUnavailableError(not_found_message(name, real))
            ds = _read(name, real, True, options)
            if ds.source != "real":
                raise DataFormatError(f"{real} holds a {MARKER} marker: these are synthetic files, not the real "
                                      f"dataset; remove them and fetch {name} again.")
        else:
            folder = ensure_synthetic(name, root, seed=seed, size=synthetic_size)
            ds = _read(name, folder, True, options)
            if source == "auto":
                why = ("an interrupted download in " if (real / IN_PROGRESS).exists() else "no real data in ") + str(real)
                show_banner(ds, why)
    if limit is not None:
        ds = subset_by_subject(ds, limit, seed=seed)
    ds.metadata.setdefault("licence", spec.licence)
    ds.metadata.setdefault("citation", spec.citation)
    return ds


def not_found_message(name: str, where: Path) -> str:
    """The one instruction given whenever real data are missing (same wording for every dataset)."""
    spec = _module(name).SPEC
    how = (f"run `python -m helpers data fetch {name}` (on a machine with internet, then copy {where.parent} "
           "to this machine's cache), or" if spec.auto_download else f"{spec.get_it} Then")
    return (f"{spec.title} is not in {where}. To use it, {how} read a copy you already have in place with "
            f"load({name!r}, path=DIR) / `python -m helpers data info {name} --path DIR` (expected: "
            f"{spec.expected_layout}); or use the embedded synthetic data (source='synthetic', DATA_SOURCE = "
            "'synthetic' in a notebook).")


def subset_by_subject(ds: SignalDataset, limit: int, *, seed: int = 0) -> SignalDataset:
    """At most ``limit`` records, taken as whole subjects in a seeded random order.

    Whole subjects keep patient-wise splits of the subset meaningful; the last subject taken may be cut short so
    that exactly ``min(limit, len(ds))`` records remain. Records keep their original order.

    Parameters
    ----------
    ds : SignalDataset
    limit : int
        Maximum number of records (>= 1).
    seed : int
        Seed of the subject order.
    """
    if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 1:
        raise ValueError(f"limit must be a positive number of records, got {limit!r}")
    if limit >= len(ds):
        return ds
    subjects = np.unique(ds.subject_ids)
    order = np.random.default_rng(seed).permutation(subjects)
    picked: list[int] = []
    for subject in order:
        picked.extend(np.flatnonzero(ds.subject_ids == subject).tolist())
        if len(picked) >= limit:
            break
    return ds.subset(np.sort(np.asarray(picked[:limit])))


# ---------------------------------------------------------------- writing (cache and synthetic output only)

def ensure_synthetic(name: str, root: Path | str | None = None, *, seed: int = 0, size: int | None = None) -> Path:
    """The cached synthetic folder, generated once (atomically) on first use."""
    folder = synthetic_cache_dir(name, root, seed=seed, size=size)
    if (folder / MARKER).is_file():
        return folder
    try:
        with atomic_dir(folder) as tmp:
            write_synthetic(name, tmp, seed=seed, size=size)
    except PermissionError as err:
        raise DataUnavailableError(f"cannot write the synthetic {name} set into {folder.parent} ({err.strerror}): "
                                   "set BIOSIGNAL_DATA to a writable folder") from None
    return folder


def write_synthetic(name: str, out: Path | str, *, seed: int = 0, size: int | None = None) -> Path:
    """Write the synthetic stand-in of ``name`` into ``out`` in the real format, then the marker.

    ``out`` must be a new or empty folder, or an earlier synthetic output (carrying the marker): a folder of
    someone's own files is never written into.

    Returns
    -------
    Path
        ``out``.
    """
    module = _module(name)
    out = Path(out).expanduser()
    if out.exists() and not out.is_dir():
        raise DataUnavailableError(f"{out} is a file; give a folder to write the synthetic {name} set into")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise DataUnavailableError(f"{out} is not empty and holds no synthetic set of ours: give a new or empty "
                                   "folder (nothing was written)")
    size = module.SPEC.synthetic_size if size is None else size
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / MARKER).unlink(missing_ok=True)  # until the marker is back, the folder is not a complete set
        module.write_synthetic(out, seed=seed, size=size)
        manifest = {"synthetic": True, "dataset": name, "generator_version": module.SPEC.synthetic_version,
                    "seed": seed, "size": size, "note": "Simulated data, not patient recordings."}
        with atomic_write(out / MARKER, "w") as f:  # last: its presence means the folder is complete
            json.dump(manifest, f, indent=1)
    except PermissionError as err:
        raise DataUnavailableError(f"cannot write into {out} ({err.strerror})") from None
    return out


def fetch(name: str, root: Path | str | None = None, *, progress: bool = True, **kwargs: Any) -> Path:
    """Download the real dataset into ``<cache>/<name>/real`` (verified files already there are kept).

    Raises
    ------
    DataUnavailableError
        Offline, a server error, or a licence that forbids automatic download (the message says what to do).
    """
    module = _module(name)
    spec = module.SPEC
    if not spec.auto_download:
        raise DataUnavailableError(f"{spec.title} cannot be downloaded for you: {spec.get_it} Then read it in place "
                                   f"with `python -m helpers data info {name} --path DIR`.")
    dest = real_cache_dir(name, root)  # cache_root refuses a root that is a file
    try:
        dest.mkdir(parents=True, exist_ok=True)
        (dest / IN_PROGRESS).write_text("an interrupted `fetch` left this folder incomplete; fetch again\n")
    except OSError as err:
        raise DataUnavailableError(f"cannot write into the cache folder {dest} ({err.strerror or err}): "
                                   "set BIOSIGNAL_DATA to a writable folder") from None
    try:
        module.fetch(dest, progress=progress, **kwargs)
    except DamagedFileError as err:  # a downloaded archive that does not unpack: it is ours to fetch again
        raise err.with_advice(damage_advice(True, name)) from None
    (dest / IN_PROGRESS).unlink()
    return dest


# ---------------------------------------------------------------- reporting

def info(name: str, path: Path | str | None = None, *, source: str = "auto", root: Path | str | None = None,
         **options: Any) -> dict[str, Any]:
    """Load ``name`` and summarise it as a JSON-ready dict (what ``python -m helpers data info --json`` prints).

    Keys: ``name``, ``source``, ``path``, ``records``, ``subjects``, ``fs_hz``, ``n_channels``, ``label_counts``,
    ``total_duration_s``, ``load_seconds``, ``licence``, plus ``channel_names``, ``annotation_counts``,
    ``interval_labels``, ``targets`` where present and what the dataset's own ``summarise`` adds.
    """
    start = time.perf_counter()
    ds = load(name, path, source=source, root=root, **options)
    summary = ds.info()
    summary["load_seconds"] = round(time.perf_counter() - start, 3)
    summary["path"] = str(ds.metadata.get("path", ""))
    summary["licence"] = ds.metadata.get("licence", "")
    extra = getattr(_module(name), "summarise", None)  # optional: what only this dataset can count
    if extra is not None:
        summary.update(extra(ds))
    return summary
