"""Where published checksums come from: PhysioNet's ``SHA256SUMS.txt`` and the Zenodo records API.

Each repository publishes a checksum per file; these functions read it and hand the files to
:func:`helpers.data.fetch.fetch_files`, which downloads and verifies every one. The checksum lists
themselves are read into memory and never cached: an answer that is not a checksum list (a Wi-Fi login page served
in its place) is refused with an error naming the URL, instead of being kept and trusted later.
"""
from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from helpers.data.cache import verified
from helpers.data.errors import DataFormatError, DataUnavailableError
from helpers.data.fetch import RETRIES, RemoteFile, fetch_bytes, fetch_files

ZENODO_API = "https://zenodo.org/api/records"


# ---------------------------------------------------------------- PhysioNet: SHA256SUMS.txt

_SUMS_LINE = re.compile(r"([0-9a-fA-F]{64}) [ *]?(\S.*)")  # sha256sum's "<digest>  <name>" (* = binary mode)


def physionet_registry(base_url: str, *, timeout: float = 30, deadline: float = 120,
                       dataset: str | None = None) -> dict[str, str]:
    """The SHA-256 of every file of a PhysioNet project version, from its ``SHA256SUMS.txt``.

    The list is read into memory and never cached: a Wi-Fi login page served in its place once must not be
    trusted later. Every non-empty line must read ``<64 hex digits>  <file name>``, so such a page is refused.

    Parameters
    ----------
    base_url : str
        Project version URL, e.g. ``https://physionet.org/files/mitdb/1.0.0/``.
    timeout, deadline : float
        Seconds per read, and for the whole transfer.
    dataset : str, optional
        For the offline message.

    Returns
    -------
    dict of str to str
        File name (relative to ``base_url``, as listed) -> lower-case hex SHA-256.

    Raises
    ------
    DataUnavailableError
        Unreachable, or the answer is not a checksum list (the message names the URL and the first bad line).
    """
    url = base_url.rstrip("/") + "/SHA256SUMS.txt"
    registry: dict[str, str] = {}
    for i, line in enumerate(fetch_bytes(url, timeout=timeout, deadline=deadline, dataset=dataset)
                             .decode("utf-8", "replace").splitlines(), 1):
        if line.strip():
            match = _SUMS_LINE.fullmatch(line.rstrip())
            if match is None:
                raise DataUnavailableError(
                    f"{url} is not a checksum list: line {i} reads {line.strip()[:80]!r}, expected "
                    "'<64 hex digits>  <file name>'. A Wi-Fi login page or a proxy may have answered instead; open "
                    "the URL in a browser, then run the command again.")
            registry[match[2]] = match[1].lower()
    if not registry:
        raise DataUnavailableError(f"{url} is empty: expected lines '<64 hex digits>  <file name>'.")
    return registry


def fetch_physionet(base_url: str, names: Sequence[str], dest_dir: Path | str, *, progress: bool = True,
                    timeout: float = 30, deadline: float | None = None, retries: int = RETRIES,
                    dataset: str | None = None) -> list[Path]:
    """Download files of a PhysioNet project, each verified against the project's ``SHA256SUMS.txt``.

    When every file is already in ``dest_dir`` and matches the digest recorded when it was downloaded, nothing
    is requested (works offline): a PhysioNet project version never changes. A file without a record (copied in
    by hand) or that no longer matches it sends the request, and is checked against the published list.

    Parameters
    ----------
    base_url : str
        Project version URL, e.g. ``https://physionet.org/files/challenge-2017/1.0.0/``.
    names : sequence of str
        File names as listed in ``SHA256SUMS.txt`` (e.g. ``"100.dat"``, ``"training2017.zip"``).
    dest_dir : path-like
        Destination folder; files keep their listed (relative) names.
    progress, timeout, deadline, retries, dataset
        As for :func:`download`.

    Returns
    -------
    list of Path
        The local paths, in the order of ``names``.

    Raises
    ------
    DataFormatError
        A name is not in ``SHA256SUMS.txt``: nothing is downloaded unverified.
    DataUnavailableError, ChecksumError
        As for :func:`download` and :func:`physionet_registry`.
    """
    dest_dir, base = Path(dest_dir), base_url.rstrip("/") + "/"
    paths = [dest_dir / name for name in names]
    if all(verified(p) for p in paths):  # each matches the digest recorded when it was downloaded
        return paths
    registry = physionet_registry(base, timeout=timeout, dataset=dataset)
    missing = [n for n in names if n not in registry]
    if missing:
        raise DataFormatError(f"{base}SHA256SUMS.txt lists no checksum for {', '.join(missing[:5])}"
                              f"{' ...' if len(missing) > 5 else ''} ({len(missing)} of {len(names)} names); "
                              "check the names and the project version. Nothing was downloaded unverified.")
    return fetch_files([RemoteFile(base + n, n, sha256=registry[n]) for n in names], dest_dir,
                       progress=progress, dataset=dataset, timeout=timeout, deadline=deadline, retries=retries)


# ---------------------------------------------------------------- Zenodo: records API

_ZENODO_DOI = re.compile(r"(?:https?://(?:dx\.)?doi\.org/|doi:)?10\.5281/zenodo\.(\d+)", re.IGNORECASE)


def zenodo_record(doi: str, *, api_url: str = ZENODO_API, timeout: float = 30, deadline: float = 120,
                  dataset: str | None = None) -> dict[str, Any]:
    """The Zenodo records-API answer for a DOI (``10.5281/zenodo.N``) or record id: metadata and files.

    Not pooch's ``DOIDownloader``/``ZenodoRepository`` (pooch 1.9): they resolve the DOI through a fixed
    ``https://doi.org``, accept only the host ``zenodo.org``, take the API base from a class attribute and build
    new-API download URLs on ``zenodo.org``, and parse the answer without checking its status, so they cannot be
    pointed at a test server and an error page surfaces as a ``KeyError``. Zenodo mints its DOIs as
    ``10.5281/zenodo.<record id>``, so the record id is read off the DOI (no doi.org round trip) and the API base
    is a parameter; each file's md5 then goes to :func:`fetch_files`, which checks the download against it.

    Parameters
    ----------
    doi : str
        ``10.5281/zenodo.15302489``, ``doi:...``, ``https://doi.org/...`` or the bare record id.
    api_url : str
        Base of the records API; the record is ``{api_url}/{record id}``. Tests point it at a local server.
    timeout, deadline, dataset
        As for :func:`physionet_registry`.

    Raises
    ------
    ValueError
        ``doi`` is not a Zenodo DOI or record id.
    DataUnavailableError
        Unreachable, or the answer is not a JSON record (the message names the URL).
    """
    match = _ZENODO_DOI.fullmatch(doi.strip())
    record_id = match[1] if match else doi.strip()
    if not record_id.isdigit():
        raise ValueError(f"{doi!r} is not a Zenodo DOI (10.5281/zenodo.<record id>) or record id")
    url = f"{api_url.rstrip('/')}/{record_id}"
    body = fetch_bytes(url, timeout=timeout, deadline=deadline, dataset=dataset)
    try:
        record = json.loads(body)
    except ValueError:
        record = None
    if not isinstance(record, dict) or "files" not in record:
        raise DataUnavailableError(f"{url} did not answer a Zenodo record (starts {body[:60]!r}). A Wi-Fi login "
                                   "page or a proxy may have answered instead; open the URL in a browser.")
    return record


def zenodo_files(record: dict[str, Any], *, api_url: str = ZENODO_API) -> list[RemoteFile]:
    """The files of a :func:`zenodo_record` answer (legacy or InvenioRDM layout), with their md5 and size.

    Raises
    ------
    DataFormatError
        The record lists no files, or a file name is unsafe (``/``, ``..``).
    """
    record_id = record.get("id") or record.get("recid")
    files = record.get("files")
    if isinstance(files, dict):  # InvenioRDM: {"enabled": true, "entries": {...} or [...]}
        files = files.get("entries", [])
        files = list(files.values()) if isinstance(files, dict) else files
    if not files:
        raise DataFormatError(f"Zenodo record {record_id}: the API answer lists no files (keys: {sorted(record)}); "
                              "it may be restricted or empty.")
    out = []
    for f in files:
        name = f.get("key") or f.get("filename")
        if not name or Path(name).name != name or name in (".", ".."):
            raise DataFormatError(f"Zenodo record {record_id}: unsafe or missing file name {name!r}")
        links = f.get("links", {})
        url = (links.get("content") or links.get("self") or links.get("download")
               or f"{api_url.rstrip('/')}/{record_id}/files/{name}/content")
        algo, _, digest = str(f.get("checksum", "")).rpartition(":")
        md5 = digest if algo in ("md5", "") and re.fullmatch(r"[0-9a-fA-F]{32}", digest) else None
        out.append(RemoteFile(url=url, name=name, md5=md5, size=None if md5 else (f.get("size") or f.get("filesize"))))
    return out


def fetch_zenodo(doi: str, dest_dir: Path | str, *, names: Sequence[str] | None = None,
                 api_url: str = ZENODO_API, progress: bool = True, timeout: float = 30,
                 deadline: float | None = None, retries: int = RETRIES, dataset: str | None = None) -> list[Path]:
    """Download the files of a Zenodo record, each verified against the md5 the record publishes.

    Parameters
    ----------
    doi : str
        ``10.5281/zenodo.15302489`` or the record id (see :func:`zenodo_record`).
    dest_dir : path-like
        Destination folder.
    names : sequence of str, optional
        Only these files (default all). When all of them are in ``dest_dir``, each matching the digest recorded
        at its download, nothing is requested.
    api_url : str
        Base of the records API (tests use a local server).
    progress, timeout, deadline, retries, dataset
        As for :func:`download`.

    Returns
    -------
    list of Path
        The local paths, in the record's order (or that of ``names``).
    """
    dest_dir = Path(dest_dir)
    if names is not None and all(verified(dest_dir / n) for n in names):
        return [dest_dir / n for n in names]
    files = zenodo_files(zenodo_record(doi, api_url=api_url, timeout=timeout, dataset=dataset), api_url=api_url)
    if names is not None:
        by_name = {f.name: f for f in files}
        missing = [n for n in names if n not in by_name]
        if missing:
            raise DataFormatError(f"Zenodo record {doi} has no file {', '.join(missing)}; it has "
                                  f"{', '.join(by_name)}.")
        files = [by_name[n] for n in names]
    return fetch_files(files, dest_dir, progress=progress, dataset=dataset, timeout=timeout, deadline=deadline,
                       retries=retries)
