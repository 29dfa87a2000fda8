"""Zip archives read or extracted without trusting their headers: a zip bomb is refused before it is inflated.

A member's header declares its size; Python's ``zipfile`` stops inflating at that size, so checking the declared
sizes (and the compression ratio) before opening bounds both memory and disk. The checks name the archive, the
member and the sizes; :func:`read_zip_member` also inflates in bounded steps, so a header that understates its
member cannot make one step inflate gigabytes.
"""
from __future__ import annotations

import zipfile
from pathlib import Path
from zlib import error as zlib_error

from helpers.data.errors import DamagedFileError, ResourceLimitError

# Numbers written as text or as arrays compress 2-10x; a member that is large and inflates more than MAX_RATIO times
# is a zip bomb. Small members may compress as they like (an empty tags.csv, a constant channel).
MAX_RATIO = 100
RATIO_FROM_BYTES = 1 << 20


def check_zip_member(archive: Path, info: zipfile.ZipInfo, *, max_bytes: int, what: str) -> None:
    """Refuse a member whose declared size or compression ratio ``what`` never has, before inflating a byte of it.

    Parameters
    ----------
    archive : Path
        The zip file, for the message.
    info : zipfile.ZipInfo
        The member.
    max_bytes : int
        Largest declared (uncompressed) size accepted.
    what : str
        What the member should be (``"an E4 CSV"``), for the message.

    Raises
    ------
    ResourceLimitError
        Over ``max_bytes``, or over :data:`RATIO_FROM_BYTES` and inflating more than :data:`MAX_RATIO` times.
    """
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > max_bytes or (info.file_size > RATIO_FROM_BYTES and ratio > MAX_RATIO):
        raise ResourceLimitError(
            f"{archive}: member {info.filename} declares {info.file_size:,} bytes from {info.compress_size:,} "
            f"compressed ({ratio:,.0f}x); {what} is at most {max_bytes >> 20} MiB and compresses at most "
            f"{MAX_RATIO}x, so this is a zip bomb or a corrupt archive: nothing was extracted")


def check_zip(archive: Path, zf: zipfile.ZipFile, *, max_bytes: int, max_total: int, what: str) -> None:
    """:func:`check_zip_member` for every member, and their declared sizes together at most ``max_total``."""
    total = 0
    for info in zf.infolist():
        check_zip_member(archive, info, max_bytes=max_bytes, what=what)
        total += info.file_size
    if total > max_total:
        raise ResourceLimitError(f"{archive}: its members declare {total:,} bytes in all, more than the "
                                 f"{max_total >> 20} MiB this archive can hold; nothing was extracted")


def read_zip_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, where: str) -> bytes:
    """The member's bytes, inflated 1 MiB at a time and never past its declared size.

    ``ZipFile.read`` inflates with no output bound per step, so a member whose header understates its size would
    be inflated whole before the size is compared; reading in bounded steps keeps memory at the declared size.

    Raises
    ------
    DamagedFileError
        The member is corrupt, truncated, or inflates to another size than its header says.
    """
    out, chunk = bytearray(), 1 << 20
    try:
        with archive.open(info) as f:
            while block := f.read(chunk):
                out += block
                if len(out) > info.file_size:
                    break
    except (zipfile.BadZipFile, OSError, EOFError, zlib_error) as err:
        raise DamagedFileError(where, f"corrupt or truncated inside the archive ({err})") from None
    if len(out) != info.file_size:
        raise DamagedFileError(where, f"inflates to {len(out):,} bytes, its header says {info.file_size:,}")
    return bytes(out)
