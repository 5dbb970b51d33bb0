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
