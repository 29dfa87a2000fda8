"""One HTTP transfer into a part file: resumed with ``Range``, complete only when something says so, verified.

The steps 3 and 4 of a download (:mod:`helpers.data.fetch`): the body goes into ``.<name>.part``; a cut transfer
is resumed where the part stops; a body counts as complete only when the server's Content-Length, the end of a
chunked body, the expected size or the digest says so; a whole-transfer deadline stops a server that drips a byte
a second; the part is checked against the size and digest before the caller renames it into place.
"""
from __future__ import annotations

import re
import time
from pathlib import Path
from typing import BinaryIO

import requests
import urllib3
from tqdm.auto import tqdm

from helpers.data.cache import file_digest
from helpers.data.errors import ChecksumError, DataUnavailableError

CHUNK = 1 << 16          # bytes per read: a smooth progress bar, and the deadline is checked after every read
MIN_RATE = 20_000        # bytes/s: the default deadline allows a slow but working connection this rate ...
DEADLINE_FLOOR = 60.0    # ... plus this many seconds (a default deadline is never shorter)
UNKNOWN_SIZE = 200 << 20  # bytes assumed for the default deadline when neither the caller nor the server says
HEADERS = {"User-Agent": "biosignal-course-helpers/0.2",
           # Content-Length then counts the stored file's bytes, which the progress bar and size check need.
           "Accept-Encoding": "identity"}


def transfer(url: str, part: Path, check: dict, *, timeout: float, deadline: float | None, retries: int,
              progress: bool) -> None:
    """Fill ``part`` with the complete, verified body of ``url``, resuming it across cut transfers."""
    can_verify = any(v is not None for v in check.values())
    if part.exists() and not can_verify:
        part.unlink()  # a kept part could only be joined blind: start again
    for attempt in range(retries + 1):
        try:
            _fetch_into(url, part, timeout=timeout, deadline=deadline, size=check["size"], progress=progress,
                        resumable=can_verify)
            _verify_part(url, part, check)
            return
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError,
                requests.exceptions.Timeout, ChecksumError, ServerError):
            if attempt == retries:
                raise
            time.sleep(min(2 ** attempt, 10))  # a server that just failed often needs a moment


def _verify_part(url: str, part: Path, check: dict) -> None:
    name, got = part.name[1:-len(".part")], part.stat().st_size
    if check["size"] is not None and got != check["size"]:
        part.unlink()
        raise ChecksumError(f"{url}: expected {check['size']} bytes, got {got}; the download was deleted, "
                            "run the command again.")
    for alg in ("sha256", "md5"):
        if check[alg]:
            digest = file_digest(part, alg)
            if digest != check[alg].lower():
                part.unlink()
                raise ChecksumError(f"{name} from {url}: {alg.upper()} hash of the downloaded file ({digest}) does not match the known "
                                    f"hash: expected {check[alg].lower()}. The download was deleted; run the "
                                    "command again.")


class ServerError(requests.exceptions.HTTPError):
    """A 5xx answer (or 408/429): worth retrying."""


def _fetch_into(url: str, part: Path, *, timeout: float, deadline: float | None, size: int | None,
                progress: bool, resumable: bool) -> None:
    """One request: append to ``part`` from where it stops (``Range``), or write it from the start."""
    start = part.stat().st_size if resumable and part.exists() else 0
    headers = {**HEADERS, "Range": f"bytes={start}-"} if start else HEADERS
    with requests.get(url, stream=True, timeout=timeout, headers=headers) as response:
        if response.status_code == 416 and start:  # the part is already as long as the file, or longer
            part.unlink()
            _fetch_into(url, part, timeout=timeout, deadline=deadline, size=size, progress=progress,
                        resumable=False)
            return
        raise_for_status(url, response)
        resumed = response.status_code == 206 and _content_range_start(url, response) == start
        with open(part, "ab" if resumed else "wb") as out:  # a 200 answer to a Range request: start again
            written = copy_body(url, response, out, offset=start if resumed else 0, timeout_deadline=deadline,
                            size=size, progress=progress, desc=part.name[1:-len(".part")])
        announced = content_length(url, response)
        if announced is not None and written < announced:
            raise requests.exceptions.ChunkedEncodingError(f"{written} of {announced} bytes arrived")
        if announced is None and not _chunked(response) and size is None and not resumable:
            part.unlink()
            raise DataUnavailableError(
                f"{url}: the server sent neither a length (Content-Length) nor a chunked body and no checksum is "
                f"known, so a complete transfer cannot be told from one cut short ({written} bytes arrived); "
                "nothing was kept. Try again later, or download the file by hand and read it with --path.")


def raise_for_status(url: str, response: requests.Response) -> None:
    code = response.status_code
    if 400 <= code < 500 and code not in (408, 429):  # retrying cannot help
        raise DataUnavailableError(f"{url} answered HTTP {code} ({response.reason})"
                                   + ("; the source may have moved: check the dataset's page." if code == 404
                                      else "."))
    if code >= 400:
        raise ServerError(response=response)


def content_length(url: str, response: requests.Response) -> int | None:
    value = response.headers.get("Content-Length")
    if value is None:
        return None
    if not value.strip().isdigit():
        raise DataUnavailableError(f"{url}: the server's Content-Length header is not a number of bytes "
                                   f"({value!r}), so the transfer cannot be checked; nothing was kept. Try again "
                                   "later; if it persists, a proxy is rewriting the answer.")
    return int(value)


def _content_range_start(url: str, response: requests.Response) -> int | None:
    match = re.fullmatch(r"bytes (\d+)-\d+/(\d+|\*)", response.headers.get("Content-Range", "").strip())
    return int(match[1]) if match else None


def _chunked(response: requests.Response) -> bool:
    # urllib3 raises when a chunked body stops before its last (empty) chunk, so its end marks a complete body.
    return "chunked" in response.headers.get("Transfer-Encoding", "").lower()


def copy_body(url: str, response: requests.Response, out: BinaryIO, *, offset: int, timeout_deadline: float | None,
          size: int | None, progress: bool, desc: str) -> int:
    """Copy the body into ``out`` under the whole-transfer deadline; returns the bytes of this response."""
    announced = content_length(url, response)
    total = offset + announced if announced is not None else size
    budget = (timeout_deadline if timeout_deadline is not None
              else DEADLINE_FLOOR + (announced or size or UNKNOWN_SIZE) / MIN_RATE)
    stop, written = time.monotonic() + budget, 0
    with tqdm(total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024, desc=desc,
              disable=not progress, leave=False) as bar:
        try:
            # read1, not iter_content: iter_content blocks until a full chunk arrives, so neither a deadline nor
            # a drip could be noticed between chunks; read1 returns whatever arrived.
            while chunk := response.raw.read1(CHUNK, decode_content=True):
                out.write(chunk)
                written += len(chunk)
                bar.update(len(chunk))
                if time.monotonic() > stop:
                    raise DataUnavailableError(
                        f"{url}: the transfer passed its deadline of {budget:g} s with {offset + written} of "
                        f"{total or '?'} bytes received (the server sends too slowly); nothing was kept. "
                        "Try again later, or give a longer deadline.")
        except urllib3.exceptions.HTTPError as err:  # reset, read timeout, IncompleteRead: retried, resumed
            raise requests.exceptions.ChunkedEncodingError(
                f"{offset + written} of {total or '?'} bytes arrived ({reason(err)})") from None
    return written


def reason(err: Exception) -> str:
    """The useful end of a requests/urllib3 message (``Connection refused``, ``Read timed out``)."""
    match = re.search(r"\[Errno -?\d+\] ([^'\")]+)", str(err))
    if match:
        return match[1].strip()
    if isinstance(err, (requests.exceptions.Timeout, urllib3.exceptions.TimeoutError)):
        return "timed out"
    first = err.args[0] if err.args else None  # urllib3: "Connection broken: IncompleteRead(...)"
    return first.split(":")[0] if isinstance(first, str) else type(err).__name__
