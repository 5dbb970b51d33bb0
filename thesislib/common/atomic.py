"""Files that appear whole or not at all.

Every writer in the package goes through :func:`atomic_write`: the content goes
to a temporary file beside the target (``<name>.<random>.tmp``), which is then
renamed onto the target with :func:`os.replace`. A run killed at any moment
leaves either the previous file or the new one, never a half-written file;
leftover ``*.tmp`` files are the only trace and are safe to delete.

The temporary file is created with mode ``0o666`` and the process umask applies, as
for ``open(path, "w")``: under umask 022 a report is ``-rw-r--r--`` (0644), under 027
0640. (:func:`tempfile.mkstemp` would make every file 0600, unreadable to a colleague.)
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Callable


def atomic_write(path, write: Callable, fsync: bool = True) -> Path:
    """Call ``write(fh)`` on a temporary binary file, then rename it onto ``path``.

    Parameters
    ----------
    path : target file (its folder is created)
    write : function of an open binary file handle
    fsync : flush to disk before the rename (survives power loss, costs a few ms);
        kill-safety does not need it

    Returns
    -------
    the target path
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_temp(path)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)


def _create_temp(path: Path) -> tuple[int, str]:
    """A new file ``<name>.<random>.tmp`` beside ``path``, open for writing: (fd, its path).

    Mode 0o666 less the umask (the kernel applies it: no umask query, thread-safe)."""
    for _ in range(100):
        tmp = str(path.parent / f"{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, _FLAGS, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {path}")


def atomic_write_bytes(path, data: bytes, fsync: bool = True) -> Path:
    return atomic_write(path, lambda fh: fh.write(data), fsync)


def atomic_write_text(path, text: str, fsync: bool = True) -> Path:
    return atomic_write(path, lambda fh: fh.write(text.encode("utf-8")), fsync)
