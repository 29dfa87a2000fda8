"""The data layer's errors, and the checks every reader makes before it opens a file.

Readers import this module only (never the downloader or the source orchestrator), so a reader can raise the
course's errors without pulling in pooch and requests. The command line catches these and prints one line.

Two kinds of folder are read, and a damaged file needs different advice in each:

* the **cache** (``$BIOSIGNAL_DATA``), which the course filled: "delete it and fetch again" is right there;
* a **user's folder** (``--path DIR``), which the course never writes to: the file is damaged and must be replaced
  from wherever the user got it.

A reader cannot tell which folder it was given, so it raises :class:`DamagedFileError` with the problem only, and
:func:`helpers.data.source.read` (which knows the folder) adds :func:`damage_advice`.
"""
from __future__ import annotations

import errno
import os
from pathlib import Path
from urllib.parse import urlparse

DATA_ENV = "BIOSIGNAL_DATA"  # the cache root's environment variable (helpers.data.cache reads it)


class DataUnavailableError(RuntimeError):
    """Data cannot be obtained right now (offline, 404, manual licence); the message says what to do."""


class ChecksumError(DataUnavailableError):
    """A downloaded file does not match its published checksum (nothing was kept)."""


class DataFormatError(ValueError):
    """A file or folder exists but is not what was expected (corrupt, truncated, a folder where a file should be)."""


class DamagedFileError(DataFormatError):
    """A file is there but its content is damaged (truncated, corrupt); the advice depends on whose folder it is.

    Parameters
    ----------
    path : path-like
        The damaged file.
    problem : str
        What is wrong, without advice (e.g. ``"ends after sample 324000 (no end-of-file marker)"``).
    advice : str, optional
        What to do; :func:`helpers.data.source.read` fills it in for the folder it read.
    """

    def __init__(self, path: Path | str, problem: str, advice: str = "") -> None:
        self.path, self.problem, self.advice = Path(path), problem, advice
        super().__init__(self._text())

    def _text(self) -> str:
        return f"{self.path}: {self.problem}" + (f"; {self.advice}" if self.advice else "")

    def with_advice(self, advice: str) -> DamagedFileError:
        """The same error with ``advice`` (a new object, so the original's text is not changed behind a caller)."""
        err = DamagedFileError(self.path, self.problem, advice)
        err.__cause__ = self.__cause__
        return err


def damage_advice(in_cache: bool, name: str) -> str:
    """What to do about a damaged file: re-fetch it in the cache; replace it from its source in a user's folder."""
    if in_cache:
        return f"delete it and run `python -m helpers data fetch {name}` again"
    return "this file is damaged: replace it from your source (the course never writes to this folder)"


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


class ResourceLimitError(DataFormatError):
    """A file asks for more memory than its size can justify (a pickle or zip bomb); nothing large was allocated."""


def check_readable_file(path: Path | str) -> Path:
    """``path`` if it is a regular, readable file; otherwise a :class:`DataFormatError` naming it.

    A FIFO, device or folder where a data file is expected is refused before anything opens it (opening a FIFO
    blocks forever), and a symbolic-link loop is called one rather than "missing".

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    if is_symlink_loop(path):
        raise DataFormatError(f"{path}: is a symbolic-link loop (the link points back to itself through other "
                              "links); make it point to the real file")
    if not path.exists():
        raise DataFormatError(f"{path}: missing")
    if not path.is_file():
        kind = "a folder" if path.is_dir() else "not a regular file (a pipe or device?)"
        raise DataFormatError(f"{path}: is {kind}, expected a data file")
    if not os.access(path, os.R_OK):
        raise DataFormatError(f"{path}: not readable (permission denied)")
    return path


def is_symlink_loop(path: Path | str) -> bool:
    """True when resolving ``path`` (or a folder on its way) runs into a loop of symbolic links (ELOOP)."""
    try:
        os.stat(path)
    except OSError as err:
        return err.errno == errno.ELOOP
    return False
