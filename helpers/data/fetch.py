"""Downloading into the cache: a file is there complete and verified, or not at all, and errors say what to do.

How a download goes (:func:`download`):

1. **Cache hit only when verified.** A file already at its path is returned only when it matches the published
   digest, else the digest recorded when it was downloaded (``.<name>.sha256`` beside it, ``sha256sum`` format),
   else the expected size. A file with nothing to check it against (a 0-byte or cut file copied in by hand) is
   fetched again.
2. **One process per folder** (``flock`` on the folder), so two notebooks started together download a file once.
3. **Into a part file** ``.<name>.part`` in the destination folder (same file system, so the final rename is
   atomic). A transfer cut within one fetch resumes with an HTTP ``Range`` request; an error that ends the fetch
   removes the part; a process killed mid-transfer leaves it, and the next fetch of that file resumes it (or
   removes it, when the server ignores ``Range`` or nothing can verify the joined file).
4. **Complete only when something says so**: the server's Content-Length, the end of a chunked body, the
   expected size, or the digest. A body cut short with none of these is refused, not kept.
5. **Verified, then renamed** into place (mode 0644, not 0600: a cache filled by an instructor is read by
   students), and its SHA-256 recorded, so sources that publish no digest are checked against the first complete
   download afterwards.

A whole-transfer deadline stops a server that drips a byte a second (a per-read timeout never fires on one), and
every error is one line naming the file, the URL and the problem (:func:`offline_message` when unreachable).
Steps 3 and 4 (one HTTP transfer into the part file) are :mod:`helpers.data.transfer`. Where published checksums
come from (PhysioNet's ``SHA256SUMS.txt``, the Zenodo records API) is :mod:`helpers.data.repositories`; where the
cache is, atomic writes, digest records and the folder lock, :mod:`helpers.data.cache`.
"""
from __future__ import annotations

import contextlib
import io
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import requests

from helpers.data.cache import (
    DATA_ENV,
    DEFAULT_ROOT,
    atomic_dir,
    atomic_write,
    cache_dir,
    cache_root,
    file_digest,
    file_mode,
    locked,
    make_dirs,
    os_error,
    part_path,
    record_digest,
    recorded_digest,
    verified,
)
from helpers.data.errors import (
    ChecksumError,
    DataFormatError,
    DataUnavailableError,
    offline_message,
)
from helpers.data.transfer import (
    HEADERS,
    content_length,
    copy_body,
    raise_for_status,
    reason,
    transfer,
)

# Errors live in helpers.data.errors and the cache in helpers.data.cache: import them from there.
__all__ = ["RETRIES", "RemoteFile", "download", "fetch_bytes", "fetch_files"]

RETRIES = 2              # extra attempts after a failed transfer (waiting 1 s, then 2 s)


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
        Final path; it appears only once the bytes are complete and verified.
    md5, sha256 : str, optional
        Expected hex digest (one of them). Without one, the length (``size``, the server's Content-Length or
        the end of a chunked body) says when the transfer is complete, and the SHA-256 of this first complete
        download is recorded and checked on every later cache hit.
    size : int, optional
        Expected size in bytes.
    timeout : float
        Seconds to wait for the connection and for each read.
    deadline : float, optional
        Seconds allowed for the whole transfer (each attempt). Default ``60 + size / 20 kB/s``, the size taken
        from ``size``, the server's Content-Length, or 200 MB.
    retries : int
        Further attempts after a cut transfer (resumed with ``Range``), a 5xx answer or a checksum mismatch (not
        after 4xx or the deadline).
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
        Host unreachable, HTTP error (names the URL), transfer cut short or past its deadline, a body whose
        completeness nothing can show, destination not writable. Nothing is left at ``dest``.
    ChecksumError
        The downloaded bytes do not match the digest or size; they were deleted.
    DataFormatError
        A folder is at ``dest``, or a file where a folder of its path should be.
    """
    dest = Path(dest)
    if md5 and sha256:
        raise ValueError("give md5 or sha256, not both")
    if dest.is_dir():
        raise DataFormatError(f"{dest}: a folder is where the file downloaded from {url} belongs; remove or "
                              "rename it and run again.")
    check = {"md5": md5, "sha256": sha256, "size": size}
    if verified(dest, **check):  # cache hit: no lock, no request
        if (md5 or sha256) and recorded_digest(dest) is None:
            with contextlib.suppress(DataUnavailableError, DataFormatError):  # a read-only copy stays usable
                record_digest(dest)  # checked against the published digest: later checks need no network
        return dest
    make_dirs(dest.parent)
    with _translated(url, dest.name, dataset or _guess_dataset(dest), dest.parent), locked(dest.parent):
        if verified(dest, **check):  # another process finished it while we waited for the lock
            return dest
        _remove_pooch_leftovers(dest.parent)
        part = part_path(dest)
        try:
            transfer(url, part, check, timeout=timeout, deadline=deadline, retries=retries, progress=progress)
            os.chmod(part, file_mode(0o666))
            os.replace(part, dest)
        except BaseException:  # Ctrl-C included; only a kill leaves the part, for the next fetch to resume
            part.unlink(missing_ok=True)
            raise
        record_digest(dest)
    return dest


_POOCH_TEMP = re.compile(r"tmp[a-z0-9_]{8}")  # tempfile.NamedTemporaryFile's names, as pooch used them


def _remove_pooch_leftovers(folder: Path) -> None:
    # Before the part files, downloads went through pooch's temporary files, which a killed process left in the
    # cache for good. Only called under the folder's lock, so none of them is still being written.
    with contextlib.suppress(OSError):
        for path in folder.iterdir():
            if _POOCH_TEMP.fullmatch(path.name) and path.is_file() and not path.is_symlink():
                path.unlink(missing_ok=True)


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
    make_dirs(dest_dir)
    return [download(f.url, dest_dir / f.name, md5=f.md5, sha256=f.sha256, size=f.size, timeout=timeout,
                     deadline=deadline, retries=retries, progress=progress, dataset=dataset) for f in files]


def fetch_bytes(url: str, *, timeout: float = 30, deadline: float = 120, dataset: str | None = None) -> bytes:
    """A small answer (a checksum list, an API record) read into memory: never cached, so never trusted later.

    Its content is checked by the caller (every line a checksum, a JSON record), which also catches a cut body.

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
        with requests.get(url, stream=True, timeout=timeout, headers=HEADERS) as response:
            raise_for_status(url, response)
            written = copy_body(url, response, buf, offset=0, timeout_deadline=deadline, size=None, progress=False,
                            desc="")
            announced = content_length(url, response)
        if announced is not None and written < announced:
            raise requests.exceptions.ChunkedEncodingError(f"{written} of {announced} bytes arrived")
        return buf.getvalue()


# ---------------------------------------------------------------- small helpers

@contextlib.contextmanager
def _translated(url: str, name: str, dataset: str | None, folder: Path | None) -> Iterator[None]:
    """Turn what requests and the OS raise into our errors, one line each (the offline one excepted)."""
    try:
        yield
    except (DataUnavailableError, DataFormatError):
        raise
    except requests.exceptions.HTTPError as err:  # 5xx, after the retries
        raise DataUnavailableError(f"Downloading {name} from {url} failed with HTTP {err.response.status_code} "
                                   f"({err.response.reason}); try again later.") from None
    except requests.exceptions.ChunkedEncodingError as err:
        raise DataUnavailableError(f"Download of {name} from {url} was cut short: {err}. Nothing was kept; run "
                                   "the same command again.") from None
    except requests.exceptions.RequestException as err:  # refused, DNS, timeouts (requests' errors are OSErrors)
        raise DataUnavailableError(offline_message(dataset, url, reason(err))) from None
    except OSError as err:
        raise os_error(err, folder) from None


def _guess_dataset(dest: Path) -> str | None:
    # A file under the cache root belongs to the dataset named by its first folder.
    with contextlib.suppress(ValueError, IndexError, DataUnavailableError, OSError):
        return dest.resolve().relative_to(cache_root().resolve()).parts[0]
    return None
