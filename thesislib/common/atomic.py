"""Files that appear whole or not at all.

Every writer in the package goes through :func:`atomic_write`: the content goes
to a temporary file beside the target (``<name>.<random>.tmp``), which is then
renamed onto the target with :func:`os.replace`. A run killed at any moment
leaves either the previous file or the new one, never a half-written file;
leftover ``*.tmp`` files are the only trace and are safe to delete.
"""
from __future__ import annotations

import os
import tempfile
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
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
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


def atomic_write_bytes(path, data: bytes, fsync: bool = True) -> Path:
    return atomic_write(path, lambda fh: fh.write(data), fsync)


def atomic_write_text(path, text: str, fsync: bool = True) -> Path:
    return atomic_write(path, lambda fh: fh.write(text.encode("utf-8")), fsync)
