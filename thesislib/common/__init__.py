"""Shared plumbing: atomic file writes that keep the umask's permissions, and one executor
that runs a list of tasks on local processes or a Dask scheduler.
"""
from .atomic import atomic_write, atomic_write_bytes, atomic_write_text
from .executor import close_pool, run_tasks, worker_count

__all__ = [
    "atomic_write", "atomic_write_bytes", "atomic_write_text", "close_pool", "run_tasks", "worker_count",
]
