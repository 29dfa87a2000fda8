"""helpers.data.repositories (PhysioNet SHA256SUMS.txt, Zenodo records API) against a local server on 127.0.0.1."""
from __future__ import annotations

import hashlib
import json
import os

import numpy as np
import pytest

from helpers.data.errors import ChecksumError, DataFormatError, DataUnavailableError
from helpers.data.repositories import (
    fetch_physionet,
    fetch_zenodo,
    physionet_registry,
    zenodo_files,
    zenodo_record,
)

try:
    from http_server import LocalServer, closed_port_url
except ImportError:  # tests/ imported as a package
    from tests.http_server import LocalServer, closed_port_url

RNG = np.random.default_rng(0)
FILES = {"100.dat": RNG.bytes(50_000), "100.hea": b"100 2 360 650000\n", "100.atr": RNG.bytes(2_000)}
SUMS = "".join(f"{hashlib.sha256(b).hexdigest()}  {n}\n" for n, b in FILES.items()).encode()
PORTAL = b"<!DOCTYPE html>\n<html><body>Please log in to the hotel Wi-Fi</body></html>\n"
QUIET = {"progress": False, "retries": 0}


def physionet_server(sums: bytes = SUMS, **kw) -> LocalServer:
    return LocalServer({"/mitdb/SHA256SUMS.txt": sums, **{f"/mitdb/{n}": b for n, b in FILES.items()}}, **kw)


# ---------------------------------------------------------------- PhysioNet

def test_physionet_registry_reads_sha256sum_lines():
    sums = SUMS + f"{'A' * 64} *binary mode.zip\n\n".encode()
    with physionet_server(sums) as server:
        registry = physionet_registry(server.url("/mitdb/"))
    assert registry["100.dat"] == hashlib.sha256(FILES["100.dat"]).hexdigest()
    assert registry["binary mode.zip"] == "a" * 64 and len(registry) == 4


def test_fetch_physionet_verifies_every_file_against_sha256sums(tmp_path):
    with physionet_server() as server:
        paths = fetch_physionet(server.url("/mitdb"), list(FILES), tmp_path, **QUIET)
        assert [p.read_bytes() for p in paths] == list(FILES.values())
        server.files["/mitdb/100.atr"] = b"tampered"
        with pytest.raises(ChecksumError, match="100.atr"):
            fetch_physionet(server.url("/mitdb"), ["100.atr"], tmp_path / "again", **QUIET)
    assert not (tmp_path / "again" / "100.atr").exists()
    assert sorted(os.listdir(tmp_path)) == [".100.atr.sha256", ".100.dat.sha256", ".100.hea.sha256", "100.atr",
                                            "100.dat", "100.hea", "again"]  # the list is not cached; digests are


def test_captive_portal_page_as_sha256sums_is_refused_and_not_trusted_later(tmp_path):
    with physionet_server(PORTAL) as server:
        with pytest.raises(DataUnavailableError) as err:
            fetch_physionet(server.url("/mitdb/"), ["100.hea"], tmp_path, **QUIET)
        msg = str(err.value)
        assert server.url("/mitdb/SHA256SUMS.txt") in msg and "<!DOCTYPE html>" in msg and "line 1" in msg
        assert list(tmp_path.iterdir()) == []
        server.files["/mitdb/SHA256SUMS.txt"] = SUMS  # back on the real network
        fetch_physionet(server.url("/mitdb/"), ["100.hea"], tmp_path, **QUIET)
    assert (tmp_path / "100.hea").read_bytes() == FILES["100.hea"]
    assert server.requests.count("/mitdb/SHA256SUMS.txt") == 2


def test_fetch_physionet_refuses_a_name_without_checksum(tmp_path):
    with physionet_server() as server, pytest.raises(DataFormatError, match="lists no checksum for 101.dat"):
        fetch_physionet(server.url("/mitdb/"), ["100.dat", "101.dat"], tmp_path, **QUIET)
    assert list(tmp_path.iterdir()) == []


def test_fetch_physionet_with_every_file_cached_works_offline(tmp_path):
    with physionet_server() as server:
        fetch_physionet(server.url("/mitdb"), list(FILES), tmp_path, **QUIET)
    assert fetch_physionet(closed_port_url("/mitdb/"), list(FILES), tmp_path, **QUIET) == \
        [tmp_path / n for n in FILES]


@pytest.mark.parametrize("damage", ["emptied", "copied by hand"])
def test_a_cached_file_that_fails_its_recorded_digest_is_not_a_cache_hit(tmp_path, damage):
    with physionet_server() as server:
        fetch_physionet(server.url("/mitdb"), list(FILES), tmp_path, **QUIET)
    if damage == "emptied":
        (tmp_path / "100.dat").write_bytes(b"")
    else:
        (tmp_path / ".100.dat.sha256").unlink()  # nothing says this file is complete
    with pytest.raises(DataUnavailableError, match="Could not reach"):  # it goes online instead of trusting it
        fetch_physionet(closed_port_url("/mitdb/"), list(FILES), tmp_path, **QUIET)
    with physionet_server() as server:
        fetch_physionet(server.url("/mitdb"), list(FILES), tmp_path, **QUIET)
        again = ["/mitdb/100.dat"] if damage == "emptied" else []  # a good copy is checked, recorded, kept
        assert server.requests == ["/mitdb/SHA256SUMS.txt", *again]
    assert (tmp_path / "100.dat").read_bytes() == FILES["100.dat"]
    fetch_physionet(closed_port_url("/mitdb/"), list(FILES), tmp_path, **QUIET)  # offline again


def test_fetch_physionet_offline_gives_the_offline_instruction(tmp_path):
    with pytest.raises(DataUnavailableError, match="python -m helpers data fetch mitdb"):
        fetch_physionet(closed_port_url("/mitdb/"), ["100.dat"], tmp_path, dataset="mitdb", **QUIET)


# ---------------------------------------------------------------- Zenodo

ZFILES = {"ecg.h5": RNG.bytes(40_000), "labels.csv": b"id,label\n0,1\n"}


def zenodo_server(layout: str = "legacy", md5s: dict[str, str] | None = None) -> LocalServer:
    server = LocalServer({f"/files/{n}": b for n, b in ZFILES.items()})
    md5s = md5s or {n: hashlib.md5(b).hexdigest() for n, b in ZFILES.items()}
    if layout == "legacy":  # zenodo.org/api/records/<id> today: a list of {key, checksum, links.self}
        files = [{"key": n, "size": len(b), "checksum": f"md5:{md5s[n]}", "links": {"self": server.url(f"/files/{n}")}}
                 for n, b in ZFILES.items()]
    else:  # InvenioRDM: entries keyed by name, content link
        files = {"enabled": True, "entries": {n: {"key": n, "size": len(b), "checksum": f"md5:{md5s[n]}",
                                                  "links": {"content": server.url(f"/files/{n}")}}
                                              for n, b in ZFILES.items()}}
    server.files["/api/records/15302489"] = json.dumps({"id": 15302489, "doi": "10.5281/zenodo.15302489",
                                                        "files": files}).encode()
    return server


@pytest.mark.parametrize("layout", ["legacy", "invenio"])
def test_fetch_zenodo_resolves_the_doi_and_verifies_the_md5s(tmp_path, layout):
    with zenodo_server(layout) as server:
        paths = fetch_zenodo("10.5281/zenodo.15302489", tmp_path, api_url=server.url("/api/records"), **QUIET)
    assert {p.name: p.read_bytes() for p in paths} == ZFILES
    assert server.requests[0] == "/api/records/15302489"


@pytest.mark.parametrize("doi", ["10.5281/zenodo.15302489", "doi:10.5281/zenodo.15302489",
                                 "https://doi.org/10.5281/zenodo.15302489", "15302489"])
def test_zenodo_record_accepts_the_doi_in_its_usual_spellings(doi):
    with zenodo_server() as server:
        record = zenodo_record(doi, api_url=server.url("/api/records/"))
    assert record["id"] == 15302489 and [f.name for f in zenodo_files(record)] == list(ZFILES)


def test_zenodo_record_refuses_a_doi_of_another_repository():
    with pytest.raises(ValueError, match="not a Zenodo DOI"):
        zenodo_record("10.6084/m9.figshare.14763051")


def test_fetch_zenodo_bad_md5_keeps_nothing(tmp_path):
    with zenodo_server(md5s={"ecg.h5": "0" * 32, "labels.csv": "0" * 32}) as server, \
            pytest.raises(ChecksumError, match="ecg.h5"):
        fetch_zenodo("15302489", tmp_path, api_url=server.url("/api/records"), **QUIET)
    assert list(tmp_path.iterdir()) == []


def test_fetch_zenodo_html_instead_of_json_names_the_url(tmp_path):
    with LocalServer({"/api/records/15302489": PORTAL}) as server, pytest.raises(DataUnavailableError) as err:
        fetch_zenodo("15302489", tmp_path, api_url=server.url("/api/records"), **QUIET)
    assert server.url("/api/records/15302489") in str(err.value) and "login page" in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_fetch_zenodo_names_picks_files_and_works_offline_once_cached(tmp_path):
    with zenodo_server() as server:
        [path] = fetch_zenodo("15302489", tmp_path, names=["labels.csv"], api_url=server.url("/api/records"),
                              **QUIET)
        with pytest.raises(DataFormatError, match="has no file nope.bin"):
            fetch_zenodo("15302489", tmp_path, names=["nope.bin"], api_url=server.url("/api/records"), **QUIET)
    assert path.read_bytes() == ZFILES["labels.csv"] and sorted(os.listdir(tmp_path)) == [".labels.csv.sha256", "labels.csv"]
    assert fetch_zenodo("15302489", tmp_path, names=["labels.csv"], api_url=closed_port_url("/api")) == [path]


def test_zenodo_files_refuse_unsafe_names():
    with pytest.raises(DataFormatError, match="unsafe"):
        zenodo_files({"id": 1, "files": [{"key": "../evil.sh", "checksum": "md5:" + "0" * 32}]})
