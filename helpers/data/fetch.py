"""Downloading into the cache on pooch: verified files, atomic writes, and errors that say what to do.

pooch does the bookkeeping: a registry of known hashes, the cache-hit check, a temporary file in the destination
folder renamed only once its hash matches (a file at its final path is complete and verified; nothing unverified
is ever cached), and retries. Kept by hand, each because pooch has no equivalent:

* :class:`_Downloader`, given to pooch through its ``downloader`` hook: a deadline for the *whole* transfer (a
  per-read timeout never fires on a server that drips a byte a second), and files readable by everyone (pooch's
  temporary file is 0600 and the rename keeps it; a cache filled by an instructor must be readable by students);
* a lock on the destination folder, so two processes (two notebooks started together) download a file once;
* errors translated into one line naming the file, the URL and the problem, and one offline instruction for
  every dataset (:func:`offline_message`).

Where the checksums come from (PhysioNet's ``SHA256SUMS.txt``, the Zenodo records API) is
:mod:`helpers.data.repositories`.
"""
from __future__ import annotations

import contextlib
import errno
import io
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO
from urllib.parse import urlparse

import pooch
import requests
import urllib3
from tqdm.auto import tqdm

from helpers.data.errors import ChecksumError, DataFormatError, DataUnavailableError

try:
    import fcntl
except ImportError:  # Windows: no flock; concurrent downloads stay correct (atomic rename), only wasteful
    fcntl = None

DATA_ENV = "BIOSIGNAL_DATA"
DEFAULT_ROOT = Path("~/.cache/biosignal-course")
CHUNK = 1 << 16          # bytes per read: a smooth progress bar, and the deadline is checked after every read
RETRIES = 2              # extra attempts after a failed transfer (pooch waits 1 s, then 2 s)
MIN_RATE = 20_000        # bytes/s: the default deadline allows a slow but working connection this rate ...
DEADLINE_FLOOR = 60.0    # ... plus this many seconds (a default deadline is never shorter)
UNKNOWN_SIZE = 200 << 20  # bytes assumed for the default deadline when neither the caller nor the server says
HEADERS = {"User-Agent": f"biosignal-course-helpers/0.1 pooch/{pooch.__version__}",
           # Content-Length then counts the stored file's bytes, which the progress bar and size check need.
           "Accept-Encoding": "identity"}


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


# ---------------------------------------------------------------- where the cache is (reading never writes)

def cache_root(root: Path | str | None = None) -> Path:
    """The cache root: ``root``, else ``$BIOSIGNAL_DATA``, else ``~/.cache/biosignal-course`` (not created).

    Raises
    ------
    DataUnavailableError
        The root exists but is a file.
    """
    env = os.environ.get(DATA_ENV) if root is None else None
    path = Path(root if root is not None else env or DEFAULT_ROOT).expanduser()
    if path.exists() and not path.is_dir():
        where = f"{DATA_ENV}={path}" if env else str(path)
        raise DataUnavailableError(f"{where} is a file, not a folder: the data cache must be a folder (point "
                                   f"{DATA_ENV} at one, or unset it to use {DEFAULT_ROOT}).")
    return path


def cache_dir(name: str, root: Path | str | None = None, *, create: bool = True) -> Path:
    """The folder where dataset ``name`` is cached: ``<root>/<name>``.

    Parameters
    ----------
    name : str
        Dataset name, e.g. ``"cinc2017"``.
    root : path-like, optional
        Cache root; defaults to ``$BIOSIGNAL_DATA`` or ``~/.cache/biosignal-course``.
    create : bool
        Create the folder if missing. Pass False for lookups: reading must never write.

    Raises
    ------
    DataFormatError, DataUnavailableError
        ``create`` and a file stands in the way, or the folder cannot be created (the message names the path).
    """
    path = cache_root(root) / name
    if create:
        _mkdir(path)
    return path


def offline_message(dataset: str | None, url: str, reason: object) -> str:
    """The one instruction every dataset gives when its source cannot be reached.

    Parameters
    ----------
    dataset : str or None
        Dataset name as the CLI knows it (``None`` writes ``NAME``).
    url : str
        What could not be downloaded.
    reason : object
        Why, in a few words (``"Connection refused"``, ``"timed out"``).
    """
    name = dataset or "NAME"
    host = urlparse(url).netloc or url
    return (f"Could not reach {host} ({reason}) to download {url}. To carry on, either:\n"
            f"  - on a machine with internet access run `python -m helpers data fetch {name}` and copy the folder "
            f"it prints into this machine's cache (or point {DATA_ENV} at the copy);\n"
            f"  - or read a copy you already have in place: `--path DIR` on the command line, "
            f"load(\"{name}\", path=DIR) in Python;\n"
            f"  - or use the embedded synthetic data: load(\"{name}\", source=\"synthetic\"), "
            "or DATA_SOURCE = \"synthetic\" in a notebook.")


# ---------------------------------------------------------------- one file

def download(url: str, dest: Path | str, *, md5: str | None = None, sha256: str | None = None,
             size: int | None = None, timeout: float = 30, deadline: float | None = None,
             retries: int = RETRIES, progress: bool = True, dataset: str | None = None) -> Path:
    """Download ``url`` to ``dest`` unless a verified copy is already there.

    Parameters
    ----------
    url : str
        Source URL (``http(s)://``).
    dest : path-like
        Final path; it appears only once the bytes are verified.
    md5, sha256 : str, optional
        Expected hex digest (one of them). Without one, only the length (``size``, else the server's
        Content-Length) is checked.
    size : int, optional
        Expected size in bytes.
    timeout : float
        Seconds to wait for the connection and for each read.
    deadline : float, optional
        Seconds allowed for the whole transfer (each attempt). Default ``60 + size / 20 kB/s``, the size taken
        from ``size``, the server's Content-Length, or 200 MB.
    retries : int
        Further attempts after a failed transfer or a checksum mismatch (not after 4xx or the deadline).
    progress : bool
        Show a tqdm progress bar (notebook-aware).
    dataset : str, optional
        Dataset name for the offline message (:func:`offline_message`); guessed from ``dest`` in the cache.

    Returns
    -------
    Path
        ``dest``, complete and verified.

    Raises
    ------
    DataUnavailableError
        Host unreachable, HTTP error (names the URL), transfer cut short or past its deadline, destination not
        writable. Nothing is left at ``dest``.
    ChecksumError
        The downloaded bytes do not match the digest or size; they were deleted.
    DataFormatError
        A folder is at ``dest``, or a file where a folder of its path should be.
    """
    dest = Path(dest)
    known = _known_hash(md5, sha256)
    if dest.is_dir():
        raise DataFormatError(f"{dest}: a folder is where the file downloaded from {url} belongs; remove or "
                              "rename it and run again.")
    if _verified(dest, known, size):  # cache hit: no lock, no request
        return dest
    _mkdir(dest.parent)
    with _translated(url, dest.name, dataset or _guess_dataset(dest), dest.parent), _locked(dest.parent):
        if known is None and size is not None and dest.is_file() and dest.stat().st_size != size:
            dest.unlink()  # pooch trusts any existing file when there is no hash; a wrong size is stale
        store = pooch.create(path=dest.parent, base_url="", registry={dest.name: known},
                             urls={dest.name: url}, retry_if_failed=retries)
        with _quiet_pooch():
            store.fetch(dest.name, downloader=_Downloader(timeout, deadline, size, progress, dest.name))
    return dest


def fetch_files(files: Sequence[RemoteFile], dest_dir: Path | str, *, progress: bool = True,
                dataset: str | None = None, timeout: float = 30, deadline: float | None = None,
                retries: int = RETRIES) -> list[Path]:
    """Download several files into ``dest_dir`` (each skipped when a verified copy exists).

    Parameters
    ----------
    files : sequence of RemoteFile
        What to fetch; ``RemoteFile.name`` is relative to ``dest_dir``.
    dest_dir : path-like
        Destination folder, created if missing.
    progress, dataset, timeout, deadline, retries
        As for :func:`download` (``deadline`` is per file).

    Returns
    -------
    list of Path
        The local paths, in the order of ``files``.
    """
    dest_dir = Path(dest_dir)
    _mkdir(dest_dir)
    return [download(f.url, dest_dir / f.name, md5=f.md5, sha256=f.sha256, size=f.size, timeout=timeout,
                     deadline=deadline, retries=retries, progress=progress, dataset=dataset) for f in files]


@contextlib.contextmanager
def _quiet_pooch() -> Iterator[None]:
    # pooch logs a line per file at INFO ("Downloading file ... to ..."): 144 lines for MIT-BIH. Our progress bar and
    # errors say what matters; pooch's warnings (retries) still show.
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        logger.setLevel(level)


class _Downloader:
    """pooch downloader (``(url, output_file, pooch) -> None``) with a whole-transfer deadline and mode 0644.

    Replaces ``pooch.HTTPDownloader``, whose ``iter_content`` reads block until a full chunk arrives, so neither a
    deadline nor a drip can be noticed between chunks; ``read1`` returns whatever arrived.
    """

    def __init__(self, timeout: float, deadline: float | None, size: int | None, progress: bool, desc: str) -> None:
        self.timeout, self.deadline, self.size, self.progress, self.desc = timeout, deadline, size, progress, desc

    def __call__(self, url: str, output_file: str, pooch_: Any = None) -> None:
        with open(output_file, "wb") as out:
            n = _stream(url, out, timeout=self.timeout, deadline=self.deadline, size=self.size,
                        progress=self.progress, desc=self.desc)
        if self.size is not None and n != self.size:
            raise ChecksumError(f"{url}: expected {self.size} bytes, got {n}; the download was deleted, "
                                "run the command again.")
        os.chmod(output_file, _mode(0o666))


def _stream(url: str, out: BinaryIO, *, timeout: float, deadline: float | None, size: int | None,
            progress: bool, desc: str) -> int:
    """Copy ``url`` into ``out``; returns the bytes written. Errors pooch should retry are requests errors."""
    with requests.get(url, stream=True, timeout=timeout, headers=HEADERS) as response:
        if 400 <= response.status_code < 500 and response.status_code not in (408, 429):  # retrying cannot help
            raise DataUnavailableError(f"{url} answered HTTP {response.status_code} ({response.reason})"
                                       + ("; the source may have moved: check the dataset's page."
                                          if response.status_code == 404 else "."))
        response.raise_for_status()
        announced = int(response.headers.get("Content-Length") or 0) or None
        total = announced or size
        budget = deadline if deadline is not None else DEADLINE_FLOOR + (total or UNKNOWN_SIZE) / MIN_RATE
        stop, written = time.monotonic() + budget, 0
        with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=desc, disable=not progress,
                  leave=False) as bar:
            try:
                while chunk := response.raw.read1(CHUNK, decode_content=True):
                    out.write(chunk)
                    written += len(chunk)
                    bar.update(len(chunk))
                    if time.monotonic() > stop:
                        raise DataUnavailableError(
                            f"{url}: the transfer passed its deadline of {budget:g} s with {written} of "
                            f"{total or '?'} bytes received (the server sends too slowly); nothing was kept. "
                            "Try again later, or give a longer deadline.")
            except urllib3.exceptions.HTTPError as err:  # reset, read timeout, IncompleteRead: pooch retries
                raise requests.exceptions.ChunkedEncodingError(
                    f"{written} of {total or '?'} bytes arrived ({_reason(err)})") from None
    if announced is not None and written < announced:
        raise requests.exceptions.ChunkedEncodingError(f"{written} of {announced} bytes arrived")
    return written


def fetch_bytes(url: str, *, timeout: float = 30, deadline: float = 120, dataset: str | None = None) -> bytes:
    """A small answer (a checksum list, an API record) read into memory: never cached, so never trusted later.

    Parameters
    ----------
    url : str
        What to read.
    timeout, deadline : float
        Seconds per read, and for the whole transfer.
    dataset : str, optional
        For the offline message.

    Raises
    ------
    DataUnavailableError
        As for :func:`download`.
    """
    with _translated(url, Path(urlparse(url).path).name, dataset, None):
        buf = io.BytesIO()
        _stream(url, buf, timeout=timeout, deadline=deadline, size=None, progress=False, desc="")
        return buf.getvalue()


# ---------------------------------------------------------------- writing files and folders

def file_digest(path: Path | str, algorithm: str) -> str:
    """Hex digest of a file (``algorithm`` is ``"md5"`` or ``"sha256"``), read in chunks to bound memory."""
    return pooch.file_hash(str(path), alg=algorithm)


@contextlib.contextmanager
def atomic_write(path: Path | str, mode: str | None = None) -> Iterator[Path | IO]:
    """Write ``path`` all-or-nothing: readers see the old file or the complete new one, never half of one.

    The body writes a temporary file in the same folder (same file system, so the final ``os.replace`` is
    atomic); it is removed if the body raises. The file ends with mode 0666 less the umask (0644 usually), not
    mkstemp's 0600, so a cache one user fills is readable by others.

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
    _mkdir(path.parent)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    except OSError as err:
        raise _os_error(err, path.parent) from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if mode is None:
            yield tmp
        else:
            with open(tmp, mode) as f:
                yield f
        os.chmod(tmp, _mode(0o666))
        if path.is_dir():
            raise DataFormatError(f"{path}: a folder is where this file belongs; remove or rename it.")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_dir(path: Path | str) -> Iterator[Path]:
    """Create folder ``path`` all-or-nothing: fill the yielded temporary folder, which is then renamed.

    If another process created ``path`` meanwhile, its copy is kept and ours is discarded (both hold the same
    data), so concurrent first runs of a notebook do not corrupt the cache. The folder ends 0777 less the umask
    (0755 usually), not mkdtemp's 0700.

    Parameters
    ----------
    path : path-like
        Final folder; must not exist yet.

    Raises
    ------
    DataFormatError
        A file is at ``path``.
    """
    path = Path(path)
    _mkdir(path.parent)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    except OSError as err:
        raise _os_error(err, path.parent) from None
    try:
        yield tmp
        os.chmod(tmp, _mode(0o777))
        if path.exists() and not path.is_dir():
            raise DataFormatError(f"{path}: a file is where this folder belongs; remove or rename it.")
        try:
            os.replace(tmp, path)
        except OSError as err:
            if not path.is_dir():
                raise _os_error(err, path.parent) from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------- small helpers

def _known_hash(md5: str | None, sha256: str | None) -> str | None:
    """pooch's ``"alg:digest"`` form."""
    if md5 and sha256:
        raise ValueError("give md5 or sha256, not both")
    return f"sha256:{sha256.lower()}" if sha256 else f"md5:{md5.lower()}" if md5 else None


def _verified(path: Path, known: str | None, size: int | None) -> bool:
    # Without a digest a present file is trusted: it was verified (length) when it was written.
    if not path.is_file():
        return False
    if known is not None:
        return pooch.file_hash(str(path), alg=known.split(":")[0]) == known.split(":")[1]
    return size is None or path.stat().st_size == size


def _mode(base: int) -> int:
    # The umask can only be read by setting it; it is set straight back.
    mask = os.umask(0)
    os.umask(mask)
    return base & ~mask


def _mkdir(path: Path) -> None:
    """``mkdir -p``, with a one-line error naming the path in the way or the folder that cannot be written."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocker = next((p for p in (path, *path.parents) if p.exists() and not p.is_dir()), path)
        raise DataFormatError(f"{blocker} is a file, but a folder is needed there (for {path}); remove or rename "
                              "it, or choose another folder.") from None
    except OSError as err:
        raise _os_error(err, path) from None


def _os_error(err: OSError, folder: Path | None) -> DataUnavailableError:
    problem = {errno.EACCES: "permission denied", errno.EPERM: "permission denied",
               errno.EROFS: "read-only file system", errno.ENOSPC: "no space left on the disk"}.get(
        err.errno, "permission denied" if isinstance(err, PermissionError) else err.strerror or str(err))
    return DataUnavailableError(f"Cannot write in {folder or err.filename}: {problem}. Make it writable, or set "
                                f"{DATA_ENV} to a folder you can write.")


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    # flock on the folder itself: no lock file to litter the cache (or to race on when deleted), and it opens
    # read-only. Where flock is missing or refused (Windows, some network file systems) we go unlocked: each
    # process has its own temporary file and the rename is atomic, so the result is still right, only fetched twice.
    if fcntl is None:
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


@contextlib.contextmanager
def _translated(url: str, name: str, dataset: str | None, folder: Path | None) -> Iterator[None]:
    """Turn what requests, pooch and the OS raise into our errors, one line each (the offline one excepted)."""
    try:
        yield
    except (DataUnavailableError, DataFormatError):
        raise
    except requests.exceptions.HTTPError as err:  # 5xx, after pooch's retries
        raise DataUnavailableError(f"Downloading {name} from {url} failed with HTTP {err.response.status_code} "
                                   f"({err.response.reason}); try again later.") from None
    except requests.exceptions.ChunkedEncodingError as err:
        raise DataUnavailableError(f"Download of {name} from {url} was cut short: {err}. Nothing was kept; run "
                                   "the same command again.") from None
    except requests.exceptions.RequestException as err:  # refused, DNS, timeouts (requests' errors are OSErrors)
        raise DataUnavailableError(offline_message(dataset, url, _reason(err))) from None
    except ValueError as err:  # pooch: the downloaded bytes do not match the known hash
        raise ChecksumError(f"{name} from {url}: {err}") from None
    except OSError as err:
        raise _os_error(err, folder) from None


def _reason(err: Exception) -> str:
    """The useful end of a requests/urllib3 message (``Connection refused``, ``Read timed out``)."""
    match = re.search(r"\[Errno -?\d+\] ([^'\")]+)", str(err))
    if match:
        return match[1].strip()
    if isinstance(err, (requests.exceptions.Timeout, urllib3.exceptions.TimeoutError)):
        return "timed out"
    first = err.args[0] if err.args else None  # urllib3: "Connection broken: IncompleteRead(...)"
    return first.split(":")[0] if isinstance(first, str) else type(err).__name__


def _guess_dataset(dest: Path) -> str | None:
    # A file under the cache root belongs to the dataset named by its first folder.
    with contextlib.suppress(ValueError, IndexError, DataUnavailableError, OSError):
        return dest.resolve().relative_to(cache_root().resolve()).parts[0]
    return None

