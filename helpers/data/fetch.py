"""Downloading and caching data files: checksums, resume, atomic writes and errors that say what to do.

Hand-written on the standard library's ``urllib`` rather than pooch (not installed here) because we want three
things together: resume of an interrupted download through HTTP ``Range``, error messages aimed at a student who
is offline (what was wanted, where to put it, how to carry on), and no extra dependency.

The one invariant: a file at its final path is complete and verified. Bytes arrive in ``<dest>.part`` and are
renamed only after the checksum (or at least the length) matches, so a killed download never leaves a file that
looks complete.
"""
from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import urlparse

from tqdm.auto import tqdm

DATA_ENV = "BIOSIGNAL_DATA"
DEFAULT_ROOT = Path("~/.cache/biosignal-course")
CHUNK = 1 << 20  # 1 MiB: large enough for throughput, small enough for a smooth progress bar
USER_AGENT = "biosignal-course-helpers/0.1 (+urllib)"


class DataUnavailableError(RuntimeError):
    """Data cannot be obtained right now (offline, 404, manual licence); the message says what to do."""


class ChecksumError(DataUnavailableError):
    """A downloaded file does not match its published checksum (the partial file has been deleted)."""


class DataFormatError(ValueError):
    """A file exists but is corrupt, truncated or not in the expected format; the message names the file."""


@dataclass(frozen=True)
class RemoteFile:
    """One file to download: where from, what to call it, and how to check it.

    Attributes
    ----------
    url : str
        Source URL.
    name : str
        File name (may contain ``/`` for a sub-folder) relative to the destination folder.
    md5, sha256 : str or None
        Expected hex digest; give one where the source publishes it.
    size : int or None
        Expected size in bytes, checked when no digest is known.
    """

    url: str
    name: str
    md5: str | None = None
    sha256: str | None = None
    size: int | None = None


def cache_root(root: Path | str | None = None) -> Path:
    """The cache root: ``root``, else ``$BIOSIGNAL_DATA``, else ``~/.cache/biosignal-course``."""
    if root is None:
        root = os.environ.get(DATA_ENV) or DEFAULT_ROOT
    return Path(root).expanduser()


def cache_dir(name: str, root: Path | str | None = None) -> Path:
    """The folder where dataset ``name`` is cached, created if missing.

    Parameters
    ----------
    name : str
        Dataset name, e.g. ``"cinc2017"``.
    root : path-like, optional
        Cache root; defaults to ``$BIOSIGNAL_DATA`` or ``~/.cache/biosignal-course``.

    Returns
    -------
    Path
        ``<root>/<name>``.
    """
    path = cache_root(root) / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def file_digest(path: Path, algorithm: str) -> str:
    """Hex digest of a file (``algorithm`` is ``"md5"`` or ``"sha256"``), read in chunks to bound memory."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _expected(md5: str | None, sha256: str | None) -> tuple[str, str] | None:
    if md5 and sha256:
        raise ValueError("give md5 or sha256, not both")
    if sha256:
        return "sha256", sha256.lower()
    if md5:
        return "md5", md5.lower()
    return None


def _guess_dataset(dest: Path) -> str:
    # A file under the cache root belongs to the dataset named by its first folder; say NAME otherwise.
    try:
        return dest.resolve().relative_to(cache_root().resolve()).parts[0]
    except (ValueError, IndexError):
        return "NAME"


def _offline_message(url: str, dest: Path, reason: object, dataset: str | None) -> str:
    host = urlparse(url).netloc or url
    name = dataset or _guess_dataset(dest)
    return (f"Could not reach {host} ({reason}) to download {dest.name} from {url}.\n"
            "To proceed, either:\n"
            f"  - on a machine with internet access run `python -m helpers data fetch {name}` and copy the cache "
            f"folder it prints to {dest.parent} here (or set {DATA_ENV} to where you copied it),\n"
            f"  - or put the file yourself at {dest},\n"
            "  - or use the embedded synthetic data (load(..., source=\"synthetic\"), or DATA_SOURCE = \"synthetic\" "
            "in a notebook).")


def _open(url: str, offset: int, timeout: float):
    headers = {"User-Agent": USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)


def download(url: str, dest: Path | str, *, md5: str | None = None, sha256: str | None = None,
             size: int | None = None, timeout: float = 30, resume: bool = True, progress: bool = True,
             dataset: str | None = None) -> Path:
    """Download ``url`` to ``dest`` unless a verified copy is already there.

    Parameters
    ----------
    url : str
        Source URL (``http(s)://`` or ``file://``).
    dest : path-like
        Final path. Bytes go to ``<dest>.part`` first and are renamed only once verified.
    md5, sha256 : str, optional
        Expected hex digest (one of them). Without one, only the length announced by the server (or ``size``)
        is checked.
    size : int, optional
        Expected size in bytes.
    timeout : float
        Seconds to wait for the connection or for each read.
    resume : bool
        Continue an existing ``.part`` file with an HTTP ``Range`` request; servers that ignore ``Range``
        make the download restart from zero.
    progress : bool
        Show a tqdm progress bar (notebook-aware).
    dataset : str, optional
        Dataset name used in the offline message (``python -m helpers data fetch NAME``); guessed from
        ``dest`` when it lies in the cache.

    Returns
    -------
    Path
        ``dest``, complete and verified.

    Raises
    ------
    DataUnavailableError
        Host unreachable, HTTP error (404 names the URL) or transfer cut short (the ``.part`` is kept so the
        next call resumes).
    ChecksumError
        The downloaded bytes do not match; the ``.part`` file is deleted.
    """
    dest = Path(dest)
    expected = _expected(md5, sha256)
    if dest.exists():
        # Cache hit: no request. A stale file with the wrong digest or size is replaced rather than trusted.
        if expected is not None:
            if file_digest(dest, expected[0]) == expected[1]:
                return dest
        elif size is None or dest.stat().st_size == size:
            return dest
        dest.unlink()
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    offset = part.stat().st_size if (resume and part.exists()) else 0

    try:
        response = _open(url, offset, timeout)
    except urllib.error.HTTPError as err:
        if err.code == 416 and offset:
            # Range not satisfiable: the .part already holds the whole file; verify it below.
            return _finish(part, dest, expected, size, url)
        if err.code == 404:
            raise DataUnavailableError(f"{url} was not found (HTTP 404) while downloading {dest.name}; "
                                       "the source may have moved: check the dataset's page.") from None
        raise DataUnavailableError(f"Downloading {dest.name} from {url} failed with HTTP {err.code} "
                                   f"({err.reason}); try again later.") from None
    except (OSError, http.client.HTTPException) as err:  # URLError: refused, DNS, timeout
        reason = getattr(err, "reason", err)
        raise DataUnavailableError(_offline_message(url, dest, reason, dataset)) from None

    with response:
        status = getattr(response, "status", 200)
        if offset and status == 206 and not response.headers.get("Content-Range", "").startswith(
                f"bytes {offset}-"):
            # A range we did not ask for: appending it would corrupt the file, so start over cleanly.
            response.close()
            part.unlink(missing_ok=True)
            return download(url, dest, md5=md5, sha256=sha256, size=size, timeout=timeout, resume=False,
                            progress=progress, dataset=dataset)
        if offset and status != 206:
            offset = 0  # the server ignored Range and sends everything: start again
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length is not None else size
        mode = "ab" if offset else "wb"
        received = offset
        try:
            with open(part, mode) as f, tqdm(total=total, initial=offset, unit="B", unit_scale=True,
                                             unit_divisor=1024, desc=dest.name, disable=not progress,
                                             leave=False) as bar:
                for block in iter(lambda: response.read(CHUNK), b""):
                    f.write(block)
                    received += len(block)
                    bar.update(len(block))
        except (OSError, http.client.HTTPException) as err:  # reset, timeout, IncompleteRead, disk full
            raise _interrupted(url, dest, received, total, err) from None
    if total is not None and received < total:
        raise _interrupted(url, dest, received, total, "connection closed early")
    return _finish(part, dest, expected, size, url)


def _interrupted(url: str, dest: Path, received: int, total: int | None, err: object) -> DataUnavailableError:
    of = f" of {total}" if total else ""
    return DataUnavailableError(f"Download of {dest.name} from {url} was cut short after {received}{of} bytes "
                                f"({err}). The partial file {dest.name}.part was kept: run the same command "
                                "again to resume.")


def _finish(part: Path, dest: Path, expected: tuple[str, str] | None, size: int | None, url: str) -> Path:
    if expected is not None:
        got = file_digest(part, expected[0])
        if got != expected[1]:
            part.unlink(missing_ok=True)
            raise ChecksumError(f"{dest.name}: {expected[0]} checksum mismatch (expected {expected[1]}, got {got}) "
                                f"for {url}; the corrupt download was deleted, run the command again.")
    elif size is not None and part.stat().st_size != size:
        got_size = part.stat().st_size
        part.unlink(missing_ok=True)
        raise ChecksumError(f"{dest.name}: expected {size} bytes, got {got_size} from {url}; "
                            "the download was deleted, run the command again.")
    os.replace(part, dest)
    return dest


def fetch_files(files: list[RemoteFile], dest_dir: Path | str, *, progress: bool = True,
                dataset: str | None = None, timeout: float = 30) -> list[Path]:
    """Download several files into ``dest_dir`` (each skipped when a verified copy exists).

    Parameters
    ----------
    files : list of RemoteFile
        What to fetch.
    dest_dir : path-like
        Destination folder; ``RemoteFile.name`` is relative to it.
    progress, dataset, timeout
        Passed to :func:`download`.

    Returns
    -------
    list of Path
        The local paths, in the order of ``files``.
    """
    dest_dir = Path(dest_dir)
    return [download(rf.url, dest_dir / rf.name, md5=rf.md5, sha256=rf.sha256, size=rf.size, timeout=timeout,
                     progress=progress, dataset=dataset) for rf in files]


@contextlib.contextmanager
def atomic_write(path: Path | str, mode: str | None = None) -> Iterator[Path | IO]:
    """Write ``path`` all-or-nothing: readers see the old file or the complete new one, never half of one.

    The body writes a temporary file in the same folder (same file system, so the final ``os.replace`` is
    atomic); the temporary file is removed if the body raises.

    Parameters
    ----------
    path : path-like
        Final path.
    mode : str, optional
        ``None`` (default) yields the temporary *path* (it keeps ``path``'s suffix, for writers such as
        ``np.save`` or ``scipy.io.savemat`` that look at it); ``"w"`` or ``"wb"`` yields an open file instead.

    Examples
    --------
    >>> with atomic_write(folder / "x.npy") as tmp:      # doctest: +SKIP
    ...     np.save(tmp, x)
    >>> with atomic_write(folder / "notes.txt", "w") as f:  # doctest: +SKIP
    ...     f.write("done")
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if mode is None:
            yield tmp
        else:
            with open(tmp, mode) as f:
                yield f
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_dir(path: Path | str) -> Iterator[Path]:
    """Create folder ``path`` all-or-nothing: fill the yielded temporary folder, which is then renamed.

    If another process created ``path`` meanwhile, its copy is kept and ours is discarded (both hold the same
    data), so concurrent first runs of a notebook do not corrupt the cache.

    Parameters
    ----------
    path : path-like
        Final folder; must not exist yet.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        try:
            os.replace(tmp, path)
        except OSError:
            if not path.is_dir():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
