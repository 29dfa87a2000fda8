"""helpers.data.fetch against a local HTTP server on 127.0.0.1 (never the internet)."""
from __future__ import annotations

import hashlib
import os

import numpy as np
import pytest

from helpers.data.fetch import (
    ChecksumError,
    DataUnavailableError,
    RemoteFile,
    atomic_dir,
    atomic_write,
    cache_dir,
    download,
    fetch_files,
)

try:
    from http_server import LocalServer, closed_port_url
except ImportError:  # tests/ imported as a package
    from tests.http_server import LocalServer, closed_port_url

BODY = np.random.default_rng(0).bytes(300_000)
SHA = hashlib.sha256(BODY).hexdigest()
MD5 = hashlib.md5(BODY).hexdigest()


def test_cache_dir_uses_root_then_env_then_home(tmp_path, monkeypatch):
    assert cache_dir("x", tmp_path) == tmp_path / "x"
    monkeypatch.setenv("BIOSIGNAL_DATA", str(tmp_path / "env"))
    assert cache_dir("y") == tmp_path / "env" / "y"
    monkeypatch.delenv("BIOSIGNAL_DATA")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir("z") == tmp_path / "home" / ".cache" / "biosignal-course" / "z"


@pytest.mark.parametrize("digest", ["sha256", "md5"])
def test_good_file_is_downloaded_and_verified(tmp_path, digest):
    with LocalServer({"/f.bin": BODY}) as server:
        kw = {"sha256": SHA} if digest == "sha256" else {"md5": MD5}
        path = download(server.url("/f.bin"), tmp_path / "f.bin", progress=False, **kw)
    assert path.read_bytes() == BODY
    assert not (tmp_path / "f.bin.part").exists()


def test_bad_checksum_leaves_no_file_and_names_file_and_digests(tmp_path):
    wrong = "0" * 64
    with LocalServer({"/f.bin": BODY}) as server, pytest.raises(ChecksumError) as err:
        download(server.url("/f.bin"), tmp_path / "f.bin", sha256=wrong, progress=False)
    msg = str(err.value)
    assert "f.bin" in msg and wrong in msg and SHA in msg
    assert list(tmp_path.iterdir()) == []


def test_truncated_transfer_leaves_no_final_file(tmp_path):
    with LocalServer({"/f.bin": BODY}, truncate={"/f.bin": 1000}) as server, \
            pytest.raises(DataUnavailableError, match="cut short"):
        download(server.url("/f.bin"), tmp_path / "f.bin", sha256=SHA, progress=False)
    assert not (tmp_path / "f.bin").exists()


def test_truncated_transfer_is_resumed_by_the_next_call(tmp_path):
    with LocalServer({"/f.bin": BODY}, truncate={"/f.bin": 1000}) as server:
        with pytest.raises(DataUnavailableError):
            download(server.url("/f.bin"), tmp_path / "f.bin", sha256=SHA, progress=False)
        server.truncate.clear()
        download(server.url("/f.bin"), tmp_path / "f.bin", sha256=SHA, progress=False)
    assert (tmp_path / "f.bin").read_bytes() == BODY
    assert server.ranges[-1] is not None and server.ranges[-1].startswith("bytes=")


def test_http_404_names_the_url(tmp_path):
    with LocalServer({}) as server, pytest.raises(DataUnavailableError) as err:
        download(server.url("/missing.bin"), tmp_path / "m.bin", progress=False)
    assert server.url("/missing.bin") in str(err.value) and "404" in str(err.value)
    assert not (tmp_path / "m.bin").exists()


def test_server_down_says_host_unreachable_and_how_to_proceed(tmp_path):
    url = closed_port_url("/f.bin")
    with pytest.raises(DataUnavailableError) as err:
        download(url, tmp_path / "f.bin", sha256=SHA, progress=False, dataset="cinc2017")
    msg = str(err.value)
    assert "Could not reach 127.0.0.1" in msg and "f.bin" in msg
    assert "python -m helpers data fetch cinc2017" in msg and "synthetic" in msg
    assert not (tmp_path / "f.bin").exists()


def test_partial_file_is_resumed_with_range(tmp_path):
    (tmp_path / "f.bin.part").write_bytes(BODY[:123_456])
    with LocalServer({"/f.bin": BODY}) as server:
        download(server.url("/f.bin"), tmp_path / "f.bin", sha256=SHA, progress=False)
    assert server.ranges == ["bytes=123456-"]
    assert (tmp_path / "f.bin").read_bytes() == BODY


def test_server_without_range_support_restarts_from_zero(tmp_path):
    (tmp_path / "f.bin.part").write_bytes(b"garbage that must not stay")
    with LocalServer({"/f.bin": BODY}, range_support=False) as server:
        download(server.url("/f.bin"), tmp_path / "f.bin", sha256=SHA, progress=False)
    assert (tmp_path / "f.bin").read_bytes() == BODY


def test_complete_part_file_is_finished_without_body(tmp_path):
    (tmp_path / "f.bin.part").write_bytes(BODY)
    with LocalServer({"/f.bin": BODY}) as server:
        download(server.url("/f.bin"), tmp_path / "f.bin", sha256=SHA, progress=False)
    assert (tmp_path / "f.bin").read_bytes() == BODY


def test_cache_hit_makes_no_request(tmp_path):
    with LocalServer({"/f.bin": BODY}) as server:
        download(server.url("/f.bin"), tmp_path / "f.bin", sha256=SHA, progress=False)
        download(server.url("/f.bin"), tmp_path / "f.bin", sha256=SHA, progress=False)
    assert server.requests == ["/f.bin"]


def test_fetch_files_checks_size_when_no_digest(tmp_path):
    with LocalServer({"/a.bin": BODY, "/b.bin": b"0123456789"}) as server:
        files = [RemoteFile(url=server.url("/a.bin"), name="a.bin", sha256=SHA),
                 RemoteFile(url=server.url("/b.bin"), name="sub/b.bin", size=10)]
        paths = fetch_files(files, tmp_path, progress=False)
        with pytest.raises(ChecksumError, match="expected 11 bytes"):
            fetch_files([RemoteFile(url=server.url("/b.bin"), name="c.bin", size=11)], tmp_path, progress=False)
    assert [p.read_bytes() for p in paths] == [BODY, b"0123456789"]
    assert not (tmp_path / "c.bin").exists()


def test_atomic_write_replaces_only_on_success(tmp_path):
    target = tmp_path / "x.npy"
    with atomic_write(target) as tmp:
        assert tmp.suffix == ".npy" and tmp.parent == tmp_path
        np.save(tmp, np.arange(3))
    assert np.load(target).tolist() == [0, 1, 2]
    with pytest.raises(RuntimeError), atomic_write(target, "wb") as f:
        f.write(b"half")
        raise RuntimeError("killed")
    assert np.load(target).tolist() == [0, 1, 2]
    assert os.listdir(tmp_path) == ["x.npy"]


def test_atomic_dir_appears_complete_or_not_at_all(tmp_path):
    with pytest.raises(RuntimeError), atomic_dir(tmp_path / "d") as tmp:
        (tmp / "a").write_text("1")
        raise RuntimeError("killed")
    assert os.listdir(tmp_path) == []
    with atomic_dir(tmp_path / "d") as tmp:
        (tmp / "a").write_text("1")
    assert (tmp_path / "d" / "a").read_text() == "1"
    assert os.listdir(tmp_path) == ["d"]


def test_stale_cached_file_with_wrong_checksum_is_replaced(tmp_path):
    (tmp_path / "f.bin").write_bytes(b"old version")
    with LocalServer({"/f.bin": BODY}) as server:
        download(server.url("/f.bin"), tmp_path / "f.bin", sha256=SHA, progress=False)
    assert (tmp_path / "f.bin").read_bytes() == BODY and server.requests == ["/f.bin"]
