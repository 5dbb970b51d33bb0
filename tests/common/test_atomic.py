import os
import stat

import pytest

from thesislib.common import atomic_write, atomic_write_bytes, atomic_write_text


def test_atomic_write_replaces_whole_file(tmp_path):
    p = atomic_write_text(tmp_path / "sub" / "a.txt", "one")
    assert p.read_text() == "one"
    atomic_write_bytes(p, b"two", fsync=False)
    assert p.read_bytes() == b"two"


def test_failed_write_keeps_old_file_and_leaves_no_tmp(tmp_path):
    p = atomic_write_text(tmp_path / "a.txt", "old")

    def boom(fh):
        fh.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(p, boom)
    assert p.read_text() == "old"
    assert list(tmp_path.iterdir()) == [p]


@pytest.fixture
def umask():
    """Set the process umask for one test and restore it after."""
    saved = os.umask(0o022)
    yield os.umask
    os.umask(saved)


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_keep_the_umask_permissions(tmp_path, umask, mask, mode):
    umask(mask)
    for write in (lambda p: atomic_write_text(p, "report"), lambda p: atomic_write_bytes(p, b"png", fsync=False),
                  lambda p: atomic_write(p, lambda fh: fh.write(b"x"))):
        p = write(tmp_path / "sub" / "report.html")
        assert stat.S_IMODE(p.stat().st_mode) == mode, oct(p.stat().st_mode)
    assert list((tmp_path / "sub").iterdir()) == [tmp_path / "sub" / "report.html"]
    with open(tmp_path / "plain.txt", "w") as fh:  # the same mode as a plain open()
        fh.write("x")
    assert stat.S_IMODE((tmp_path / "plain.txt").stat().st_mode) == mode
