"""helpers.data.fetch against a local HTTP server on 127.0.0.1 (never the internet)."""
from __future__ import annotations

import hashlib
import importlib
import os
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from helpers.data.cache import atomic_dir, atomic_write, cache_dir
from helpers.data.errors import (
    ChecksumError,
    DataFormatError,
    DataUnavailableError,
    offline_message,
)
from helpers.data.fetch import RemoteFile, download, fetch_files

try:
    from http_server import LocalServer, closed_port_url
except ImportError:  # tests/ imported as a package
    from tests.http_server import LocalServer, closed_port_url

transfer_module = importlib.import_module("helpers.data.transfer")  # where the part file is opened
ROOT = Path(__file__).resolve().parent.parent
BODY = np.random.default_rng(0).bytes(300_000)
SHA = hashlib.sha256(BODY).hexdigest()
MD5 = hashlib.md5(BODY).hexdigest()
QUIET = {"progress": False, "retries": 0}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


# ---------------------------------------------------------------- where the cache is

def test_cache_dir_uses_root_then_env_then_home(tmp_path, monkeypatch):
    assert cache_dir("x", tmp_path) == tmp_path / "x"
    monkeypatch.setenv("BIOSIGNAL_DATA", str(tmp_path / "env"))
    assert cache_dir("y") == tmp_path / "env" / "y"
    monkeypatch.delenv("BIOSIGNAL_DATA")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir("z") == tmp_path / "home" / ".cache" / "biosignal-course" / "z"


def test_cache_dir_lookup_without_create_writes_nothing(tmp_path):
    assert cache_dir("x", tmp_path / "root", create=False) == tmp_path / "root" / "x"
    assert list(tmp_path.iterdir()) == []


def test_data_env_pointing_at_a_file_is_a_one_line_error(tmp_path, monkeypatch):
    (tmp_path / "oops").write_text("not a folder")
    monkeypatch.setenv("BIOSIGNAL_DATA", str(tmp_path / "oops"))
    for create in (True, False):
        with pytest.raises(DataUnavailableError) as err:
            cache_dir("cinc2017", create=create)
        msg = str(err.value)
        assert f"BIOSIGNAL_DATA={tmp_path / 'oops'} is a file" in msg and "\n" not in msg


# ---------------------------------------------------------------- one file

@pytest.mark.parametrize("digest", ["sha256", "md5"])
def test_good_file_is_downloaded_and_verified(tmp_path, digest):
    with LocalServer({"/f.bin": BODY}) as server:
        kw = {"sha256": SHA} if digest == "sha256" else {"md5": MD5}
        path = download(server.url("/f.bin"), tmp_path / "f.bin", **QUIET, **kw)
    assert path.read_bytes() == BODY
    assert sorted(os.listdir(tmp_path)) == [".f.bin.sha256", "f.bin"]  # no part file left; the digest recorded
    assert (tmp_path / ".f.bin.sha256").read_text() == f"{SHA}  f.bin\n"


def test_bad_checksum_leaves_no_file_and_names_file_and_digests(tmp_path):
    wrong = "0" * 64
    with LocalServer({"/f.bin": BODY}) as server, pytest.raises(ChecksumError) as err:
        download(server.url("/f.bin"), tmp_path / "f.bin", sha256=wrong, **QUIET)
    msg = str(err.value)
    assert "f.bin" in msg and wrong in msg and SHA in msg and server.url("/f.bin") in msg
    assert list(tmp_path.iterdir()) == []


def test_truncated_transfer_leaves_no_file(tmp_path):
    with LocalServer({"/f.bin": BODY}, truncate={"/f.bin": 1000}) as server, \
            pytest.raises(DataUnavailableError, match="cut short"):
        download(server.url("/f.bin"), tmp_path / "f.bin", sha256=SHA, **QUIET)
    assert list(tmp_path.iterdir()) == []


def test_transfer_cut_short_once_is_retried(tmp_path):
    with LocalServer({"/f.bin": BODY}, fail_first={"/f.bin": 1}) as server:
        download(server.url("/f.bin"), tmp_path / "f.bin", sha256=SHA, progress=False, retries=1)
    assert (tmp_path / "f.bin").read_bytes() == BODY and server.requests == ["/f.bin", "/f.bin"]


def test_http_404_names_the_url_and_is_not_retried(tmp_path):
    with LocalServer({}) as server, pytest.raises(DataUnavailableError) as err:
        download(server.url("/missing.bin"), tmp_path / "m.bin", progress=False, retries=2)
    assert server.url("/missing.bin") in str(err.value) and "404" in str(err.value)
    assert server.requests == ["/missing.bin"]
    assert list(tmp_path.iterdir()) == []


def test_server_error_is_retried_then_named(tmp_path):
    with LocalServer({"/f.bin": BODY}, status={"/f.bin": 503}) as server, pytest.raises(DataUnavailableError) as err:
        download(server.url("/f.bin"), tmp_path / "f.bin", sha256=SHA, progress=False, retries=1)
    assert str(err.value).startswith(f"Downloading f.bin from {server.url('/f.bin')} failed with HTTP 503")
    assert server.requests == ["/f.bin", "/f.bin"] and list(tmp_path.iterdir()) == []


def test_server_down_says_host_unreachable_and_how_to_proceed(tmp_path):
    url = closed_port_url("/f.bin")
    with pytest.raises(DataUnavailableError) as err:
        download(url, tmp_path / "f.bin", sha256=SHA, dataset="cinc2017", **QUIET)
    msg = str(err.value)
    assert msg == offline_message("cinc2017", url, "Connection refused")
    assert not (tmp_path / "f.bin").exists()


def test_offline_message_gives_the_three_ways_to_carry_on():
    msg = offline_message("zenodo_af", "https://zenodo.org/api/records/1", "timed out")
    assert msg.startswith("Could not reach zenodo.org (timed out) to download https://zenodo.org/api/records/1.")
    assert "python -m helpers data fetch zenodo_af" in msg
    assert "--path DIR" in msg and 'load("zenodo_af", path=DIR)' in msg
    assert 'load("zenodo_af", source="synthetic")' in msg


def test_cache_hit_makes_no_request(tmp_path):
    with LocalServer({"/f.bin": BODY}) as server:
        download(server.url("/f.bin"), tmp_path / "f.bin", sha256=SHA, **QUIET)
        download(server.url("/f.bin"), tmp_path / "f.bin", sha256=SHA, **QUIET)
    assert server.requests == ["/f.bin"]


def test_stale_cached_file_with_wrong_checksum_is_replaced(tmp_path):
    (tmp_path / "f.bin").write_bytes(b"old version")
    with LocalServer({"/f.bin": BODY}) as server:
        download(server.url("/f.bin"), tmp_path / "f.bin", sha256=SHA, **QUIET)
    assert (tmp_path / "f.bin").read_bytes() == BODY and server.requests == ["/f.bin"]


def test_fetch_files_checks_size_when_no_digest(tmp_path):
    with LocalServer({"/a.bin": BODY, "/b.bin": b"0123456789"}) as server:
        files = [RemoteFile(url=server.url("/a.bin"), name="a.bin", sha256=SHA),
                 RemoteFile(url=server.url("/b.bin"), name="sub/b.bin", size=10)]
        paths = fetch_files(files, tmp_path, **QUIET)
        with pytest.raises(ChecksumError, match="expected 11 bytes"):
            fetch_files([RemoteFile(url=server.url("/b.bin"), name="c.bin", size=11)], tmp_path, **QUIET)
    assert [p.read_bytes() for p in paths] == [BODY, b"0123456789"]
    assert not (tmp_path / "c.bin").exists()


def test_dripping_server_fails_at_the_deadline_and_keeps_nothing(tmp_path):
    # One byte a second: every read returns within the timeout, so only the whole-transfer deadline stops it.
    with LocalServer({"/f.bin": BODY}, drip={"/f.bin": 1.0}) as server, \
            pytest.raises(DataUnavailableError, match="deadline of 1.5 s") as err:
        start = time.monotonic()
        download(server.url("/f.bin"), tmp_path / "f.bin", sha256=SHA, timeout=5, deadline=1.5, **QUIET)
    assert time.monotonic() - start < 5
    assert server.url("/f.bin") in str(err.value) and "\n" not in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_two_processes_fetching_the_same_file_both_end_with_it_verified(tmp_path):
    dest = tmp_path / "cache" / "f.bin"
    with LocalServer({"/f.bin": BODY}, slow={"/f.bin": 1.5}) as server:
        code = textwrap.dedent(f"""
            from helpers.data.fetch import download
            p = download({server.url('/f.bin')!r}, {str(dest)!r}, sha256={SHA!r}, progress=False, retries=0)
            assert p.read_bytes() == open({str(dest)!r}, 'rb').read()
        """)
        procs = [subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
        errors = [p.communicate(timeout=60)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    assert dest.read_bytes() == BODY and sorted(os.listdir(dest.parent)) == [".f.bin.sha256", "f.bin"]
    assert server.requests == ["/f.bin"]  # the second waited on the lock, then found the verified file


# ---------------------------------------------------------------- the file system in the way

def test_folder_at_the_file_path_is_a_one_line_error(tmp_path):
    (tmp_path / "f.bin").mkdir()
    with pytest.raises(DataFormatError) as err:
        download("http://127.0.0.1:9/f.bin", tmp_path / "f.bin", sha256=SHA, **QUIET)
    msg = str(err.value)
    assert str(tmp_path / "f.bin") in msg and "folder" in msg and "\n" not in msg


def test_file_where_a_folder_is_expected_is_a_one_line_error(tmp_path):
    (tmp_path / "dest").write_text("a file")
    with pytest.raises(DataFormatError) as err:
        fetch_files([RemoteFile("http://127.0.0.1:9/a.bin", "a.bin", sha256=SHA)], tmp_path / "dest" / "sub",
                    **QUIET)
    assert f"{tmp_path / 'dest'} is a file, but a folder is needed there" in str(err.value)
    with pytest.raises(DataFormatError, match="a file is where this folder belongs"), atomic_dir(tmp_path / "dest"):
        pass
    assert (tmp_path / "dest").read_text() == "a file"


def test_read_only_cache_folder_is_a_one_line_error(tmp_path, monkeypatch):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    if os.geteuid() == 0:  # root writes anywhere: make the temporary files fail as they would for a user
        def denied(*args, dir=None, **kwargs):
            raise PermissionError(13, "Permission denied", dir)
        monkeypatch.setattr(tempfile, "mkstemp", denied)
        monkeypatch.setattr(transfer_module, "open", lambda path, *a, **k: denied(dir=path), raising=False)
    try:
        with LocalServer({"/f.bin": BODY}) as server, pytest.raises(DataUnavailableError) as err:
            download(server.url("/f.bin"), ro / "f.bin", sha256=SHA, **QUIET)
        assert str(err.value).startswith(f"Cannot write in {ro}: permission denied.")
        assert "\n" not in str(err.value)
        with pytest.raises(DataUnavailableError, match="permission denied"), atomic_write(ro / "x.txt", "w") as f:
            f.write("never")
        assert list(ro.iterdir()) == []
    finally:
        ro.chmod(0o755)


# ---------------------------------------------------------------- permissions and atomic writes

def test_cache_files_are_0644_and_folders_0755(tmp_path, umask_022):
    with LocalServer({"/f.bin": BODY}) as server:
        path = download(server.url("/f.bin"), tmp_path / "new" / "f.bin", sha256=SHA, **QUIET)
    with atomic_write(tmp_path / "a.npy") as tmp:
        np.save(tmp, np.arange(3))
    with atomic_write(tmp_path / "b.txt", "w") as f:
        f.write("b")
    with atomic_dir(tmp_path / "d") as tmp:
        (tmp / "c").write_text("c")
    assert [mode(p) for p in (path, tmp_path / "a.npy", tmp_path / "b.txt", tmp_path / "d" / "c")] == [0o644] * 4
    assert [mode(p) for p in (tmp_path / "new", tmp_path / "d")] == [0o755] * 2


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


# ---------------------------------------------------------------- never silently incomplete (issue 19)

def _kill_mid_transfer(server: LocalServer, dest: Path) -> int:
    """Start a child downloading ``/f.bin`` into ``dest``, SIGKILL it once bytes have arrived; the part's size."""
    code = (f"from helpers.data.fetch import download\n"
            f"download({server.url('/f.bin')!r}, {str(dest)!r}, sha256={SHA!r}, progress=False, retries=0)\n")
    child = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT)
    part = dest.parent / f".{dest.name}.part"
    stop = time.monotonic() + 30
    while not (part.exists() and part.stat().st_size > 0) and time.monotonic() < stop:
        time.sleep(0.02)
    child.kill()
    child.wait()
    assert part.exists(), "the child never started writing"
    return part.stat().st_size


def test_a_download_killed_mid_transfer_is_resumed_by_the_next_fetch_and_nothing_is_left(tmp_path):
    dest = tmp_path / "f.bin"
    with LocalServer({"/f.bin": BODY}, slow={"/f.bin": 3.0}) as server:
        have = _kill_mid_transfer(server, dest)
        assert 0 < have < len(BODY) and not dest.exists()  # the kill left only the part, under its own name
        download(server.url("/f.bin"), dest, sha256=SHA, **QUIET)
    assert server.ranges == [None, f"bytes={have}-"]  # the second request asked only for the rest
    assert dest.read_bytes() == BODY
    assert sorted(os.listdir(tmp_path)) == [".f.bin.sha256", "f.bin"]


def test_a_part_left_by_a_kill_is_replaced_when_the_server_ignores_range(tmp_path):
    dest = tmp_path / "f.bin"
    with LocalServer({"/f.bin": BODY}, slow={"/f.bin": 3.0}) as server:
        _kill_mid_transfer(server, dest)
        server.range_support = False
        download(server.url("/f.bin"), dest, sha256=SHA, **QUIET)
    assert dest.read_bytes() == BODY  # the 200 answer started the file again instead of being appended
    assert sorted(os.listdir(tmp_path)) == [".f.bin.sha256", "f.bin"]


def test_a_body_cut_short_with_neither_length_nor_digest_is_refused(tmp_path):
    with LocalServer({"/f.bin": BODY}, no_length={"/f.bin"}, truncate={"/f.bin": 1000}) as server, \
            pytest.raises(DataUnavailableError) as err:
        download(server.url("/f.bin"), tmp_path / "f.bin", **QUIET)
    assert str(err.value).startswith(f"{server.url('/f.bin')}: the server sent neither a length (Content-Length) "
                                     "nor a chunked body and no checksum is known, so a complete transfer cannot "
                                     "be told from one cut short (1000 bytes arrived); nothing was kept.")
    assert list(tmp_path.iterdir()) == []


def test_a_body_without_length_is_accepted_when_its_digest_says_it_is_complete(tmp_path):
    with LocalServer({"/f.bin": BODY}, no_length={"/f.bin"}) as server:
        assert download(server.url("/f.bin"), tmp_path / "f.bin", sha256=SHA, **QUIET).read_bytes() == BODY


def test_a_zero_byte_cached_file_without_digest_is_not_a_cache_hit(tmp_path):
    (tmp_path / "f.bin").write_bytes(b"")
    with LocalServer({"/f.bin": BODY}) as server:
        download(server.url("/f.bin"), tmp_path / "f.bin", **QUIET)
    assert server.requests == ["/f.bin"] and (tmp_path / "f.bin").read_bytes() == BODY


def test_without_a_published_digest_the_first_download_is_recorded_and_checked_after(tmp_path):
    dest = tmp_path / "f.bin"
    with LocalServer({"/f.bin": BODY}) as server:
        download(server.url("/f.bin"), dest, **QUIET)
        download(server.url("/f.bin"), dest, **QUIET)  # verified against the record: no request
        assert server.requests == ["/f.bin"]
        dest.write_bytes(BODY[:-1] + b"x")  # same size, different bytes: no longer what was downloaded
        download(server.url("/f.bin"), dest, **QUIET)
        assert server.requests == ["/f.bin", "/f.bin"]
    assert dest.read_bytes() == BODY and (tmp_path / ".f.bin.sha256").read_text() == f"{SHA}  f.bin\n"


def test_a_content_length_that_is_not_a_number_is_a_clear_error(tmp_path):
    with LocalServer({"/f.bin": BODY}, content_length={"/f.bin": "abc"}) as server, \
            pytest.raises(DataUnavailableError) as err:
        download(server.url("/f.bin"), tmp_path / "f.bin", sha256=SHA, **QUIET)
    assert not isinstance(err.value, ChecksumError)
    assert str(err.value) == (f"{server.url('/f.bin')}: the server's Content-Length header is not a number of bytes "
                              "('abc'), so the transfer cannot be checked; nothing was kept. Try again later; if it "
                              "persists, a proxy is rewriting the answer.")
    assert list(tmp_path.iterdir()) == []


def test_a_cut_transfer_is_resumed_with_range_within_one_fetch(tmp_path):
    with LocalServer({"/f.bin": BODY}, fail_first={"/f.bin": 1}) as server:
        download(server.url("/f.bin"), tmp_path / "f.bin", sha256=SHA, progress=False, retries=1)
    assert server.ranges == [None, f"bytes={len(BODY) // 2}-"]
    assert (tmp_path / "f.bin").read_bytes() == BODY


def test_a_partial_file_left_by_an_earlier_pooch_based_fetch_is_removed_by_the_next_fetch(tmp_path):
    (tmp_path / "tmpk3j_x9qz").write_bytes(bytes(2_900_000))  # pooch's temporary name, a killed download's bytes
    (tmp_path / "notes.txt").write_text("kept")
    with LocalServer({"/f.bin": BODY}) as server:
        download(server.url("/f.bin"), tmp_path / "f.bin", sha256=SHA, **QUIET)
    assert sorted(os.listdir(tmp_path)) == [".f.bin.sha256", "f.bin", "notes.txt"]
