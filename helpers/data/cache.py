"""Where the cache is, and writing into it all-or-nothing: the parts of the data layer that touch the disk.

Reading never writes: :func:`cache_root` and :func:`cache_dir` with ``create=False`` only compute paths. Files and
folders the course writes appear complete or not at all (:func:`atomic_write`, :func:`atomic_dir`), readable by
everyone (a cache one user fills is read by others), and a write that fails says which folder and why in one line.

A downloaded file is trusted only when it checks out (:func:`verified`): against its published digest, the digest
recorded when it was downloaded (``.<name>.sha256``, :func:`record_digest`), or its expected size. Downloads into
one folder take turns (:func:`locked`).
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from helpers.data.errors import DATA_ENV, DataFormatError, DataUnavailableError

try:
    import fcntl
except ImportError:  # Windows: no flock; concurrent downloads stay correct (atomic rename), only wasteful
    fcntl = None

DEFAULT_ROOT = Path("~/.cache/biosignal-course")


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
        make_dirs(path)
    return path




def file_digest(path: Path | str, algorithm: str) -> str:
    """Hex digest of a file (``algorithm`` is ``"md5"`` or ``"sha256"``), read in chunks to bound memory."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, algorithm).hexdigest()


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
    make_dirs(path.parent)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    except OSError as err:
        raise os_error(err, path.parent) from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if mode is None:
            yield tmp
        else:
            with open(tmp, mode) as f:
                yield f
        os.chmod(tmp, file_mode(0o666))
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
    make_dirs(path.parent)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    except OSError as err:
        raise os_error(err, path.parent) from None
    try:
        yield tmp
        os.chmod(tmp, file_mode(0o777))
        if path.exists() and not path.is_dir():
            raise DataFormatError(f"{path}: a file is where this folder belongs; remove or rename it.")
        try:
            os.replace(tmp, path)
        except OSError as err:
            if not path.is_dir():
                raise os_error(err, path.parent) from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def file_mode(base: int) -> int:
    """``base`` (e.g. 0o666) less the process's umask: the mode a plain ``open`` would give a new file."""
    # The umask can only be read by setting it; it is set straight back.
    mask = os.umask(0)
    os.umask(mask)
    return base & ~mask


def make_dirs(path: Path) -> None:
    """``mkdir -p``, with a one-line error naming the path in the way or the folder that cannot be written."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocker = next((p for p in (path, *path.parents) if p.exists() and not p.is_dir()), path)
        raise DataFormatError(f"{blocker} is a file, but a folder is needed there (for {path}); remove or rename "
                              "it, or choose another folder.") from None
    except OSError as err:
        raise os_error(err, path) from None


def synthetic_target(out_dir: Path | str, size: int | None, default_size: int) -> tuple[Path, int]:
    """Where a dataset's ``write_synthetic`` writes (created) and how many records or subjects it writes.

    Parameters
    ----------
    out_dir : path-like
        The folder to fill; created with its parents.
    size : int or None
        The number asked for; None means ``default_size``.
    default_size : int
        The dataset's ``SPEC.synthetic_size``.

    Returns
    -------
    (Path, int)
        ``out_dir`` as a path, and the size to simulate.
    """
    out_dir = Path(out_dir)
    make_dirs(out_dir)
    return out_dir, default_size if size is None else size


def os_error(err: OSError, folder: Path | None) -> DataUnavailableError:
    """A failed write as one line: the folder, the problem in words, and the way out (a writable cache)."""
    problem = {errno.EACCES: "permission denied", errno.EPERM: "permission denied",
               errno.EROFS: "read-only file system", errno.ENOSPC: "no space left on the disk"}.get(
        err.errno, "permission denied" if isinstance(err, PermissionError) else err.strerror or str(err))
    return DataUnavailableError(f"Cannot write in {folder or err.filename}: {problem}. Make it writable, or set "
                                f"{DATA_ENV} to a folder you can write.")


# ---------------------------------------------------------------- what a cached file is checked against

def record_path(path: Path) -> Path:
    """``.<name>.sha256`` beside ``path``: the digest recorded when it was downloaded."""
    return path.parent / f".{path.name}.sha256"


def part_path(path: Path) -> Path:
    """``.<name>.part`` beside ``path``: the download in progress (or left by a killed process)."""
    return path.parent / f".{path.name}.part"


def recorded_digest(path: Path | str) -> str | None:
    """The SHA-256 recorded when ``path`` was downloaded (``.<name>.sha256`` beside it), or None."""
    record = record_path(Path(path))
    with contextlib.suppress(OSError, UnicodeDecodeError):
        match = re.match(r"([0-9a-f]{64}) ", record.read_text(encoding="ascii"))
        return match[1] if match else None
    return None


def verified(path: Path | str, *, md5: str | None = None, sha256: str | None = None, size: int | None = None) -> bool:
    """True when ``path`` is a file matching the published digest, else its recorded digest, else ``size``.

    A file with none of these to check it against is not verified: a 0-byte or cut file never passes as complete.
    """
    path = Path(path)
    if not path.is_file():
        return False
    if md5 or sha256:
        alg, want = ("sha256", sha256) if sha256 else ("md5", md5)
        return file_digest(path, alg) == want.lower()
    if size is not None and path.stat().st_size != size:
        return False
    recorded = recorded_digest(path)
    if recorded is not None:
        return file_digest(path, "sha256") == recorded
    return size is not None


def record_digest(path: Path) -> None:
    """Write ``.<name>.sha256`` beside ``path`` (``sha256sum -c`` reads it)."""
    with atomic_write(record_path(path), "w") as f:
        f.write(f"{file_digest(path, 'sha256')}  {path.name}\n")


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` (one process downloads into it at a time; others wait)."""
    # flock on the folder itself: no lock file to litter the cache (or to race on when deleted), and it opens
    # read-only. Where flock is missing or refused (Windows, some network file systems) we go unlocked: two
    # processes may then write one part file at once, and the size or digest check refuses what they mix up.
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
