"""One executor: run a list of tasks in this process, on local worker processes or on a Dask cluster.

:func:`run_tasks` calls ``fn(task)`` (or ``fn(task, context)``) for every task and returns
the results in task order, with a tqdm progress bar that moves as tasks finish:

* ``workers=1`` (or one task): in this process, one task after the other;
* ``workers>1`` (``-1``: every core, ``-2``: all but one): a
  :class:`concurrent.futures.ProcessPoolExecutor` whose processes start from a forkserver
  (spawn where there is none). ``context`` is sent once per worker process, and each worker
  caps BLAS, OpenMP, numba and torch at its share of the cores, so that ``workers``
  processes do not each start a thread per core. The pool stays up for the next call with as
  many workers and an equal context, whose tasks then skip the workers' start (imports, models
  loaded); another call, an error or :func:`close_pool` closes it;
* ``scheduler`` (an address or a ``distributed.Client``): on that Dask cluster; ``context``
  is scattered once to every worker. A client made here from an address is closed after.

The first task that raises stops the run: tasks not yet started are cancelled and the
exception is raised here, with the task's traceback attached (``__cause__`` for a worker
process, Dask's own for a cluster) and a note saying which task failed.

Worker processes start from a forkserver, so, as with any ``multiprocessing`` start method
but fork, a *script* that calls this with ``workers>1`` must do so under
``if __name__ == "__main__":``. Notebooks, ``python -m`` and console scripts need nothing.
Chosen over loky (measured: it starts workers and runs tasks faster) because it never
restarts a worker behind the caller's back: loky recycles a worker that grew by 300 MB (a
face-landmark or torch model loaded) and warns about it.
"""
from __future__ import annotations

import os
import sys
from concurrent.futures import as_completed
from typing import Callable, Sequence

__all__ = ["close_pool", "run_tasks", "worker_count"]

#: Variables that size the thread pools of libraries a worker imports after it starts.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "NUMBA_NUM_THREADS")
_CONTEXT: list = []  # in a worker process: the context the pool's initializer received
_POOL: list = []  # here: [(key, pool)] of the last local pool (_local_pool)


def worker_count(workers: int) -> int:
    """The number of worker processes ``workers`` asks for.

    Parameters
    ----------
    workers : int
        A count (>= 1), or ``-k`` for every core but ``k - 1`` (``-1``: every core); 0 is 1.

    Returns
    -------
    int >= 1
    """
    workers = int(workers)
    if workers < 0:
        workers = (os.cpu_count() or 1) + 1 + workers
    return max(1, workers)


def run_tasks(fn: Callable, tasks: Sequence, *, context=None, workers: int = 1, scheduler=None,
              progress: bool = False, desc: str | None = None, unit: str = "task",
              sizes: Sequence[int] | None = None, initial: int = 0) -> list:
    """Run ``fn`` on every task; the results in task order.

    Parameters
    ----------
    fn : callable
        ``fn(task)``, or ``fn(task, context)`` when ``context`` is given. Worker processes and
        Dask workers import it by its module path, so it is a module-level function.
    tasks : sequence
        Picklable tasks.
    context : object or None
        What every call needs besides its task (settings, a model, shared arrays): sent once
        per worker process, scattered once to each Dask worker.
    workers : int
        Local processes (see :func:`worker_count`); 1 runs in this process. Ignored when
        ``scheduler`` is given.
    scheduler : str, distributed.Client or None
        A Dask scheduler address, or a client, to run the tasks on that cluster.
    progress : bool
        Show a tqdm progress bar.
    desc, unit : str
        The bar's label and unit.
    sizes : sequence of int or None
        How far each task moves the bar (default 1 each).
    initial : int
        Where the bar starts (work done before, e.g. by a run that was interrupted); its
        total is ``initial + sum(sizes)``.

    Returns
    -------
    list, ``results[i] = fn(tasks[i][, context])``
    """
    from tqdm.auto import tqdm

    tasks = list(tasks)
    sizes = [1] * len(tasks) if sizes is None else [int(s) for s in sizes]
    if len(sizes) != len(tasks):
        raise ValueError(f"got {len(sizes)} sizes for {len(tasks)} tasks")
    results = [None] * len(tasks)
    with tqdm(total=initial + sum(sizes), initial=initial, disable=not progress, desc=desc, unit=unit) as bar:
        def done(index, result):
            results[index] = result
            bar.update(sizes[index])

        if not tasks:
            pass
        elif scheduler is not None:
            _run_dask(fn, tasks, context, scheduler, done)
        elif min(worker_count(workers), len(tasks)) == 1:
            for index, task in enumerate(tasks):
                done(index, _call(fn, task, context, index, len(tasks)))
        else:
            _run_processes(fn, tasks, context, min(worker_count(workers), len(tasks)), done)
    return results


def _call(fn, task, context, index: int, n: int):
    """``fn(task[, context])`` in this process; an exception gets a note naming the task."""
    try:
        return fn(task) if context is None else fn(task, context)
    except Exception as exc:
        _note(exc, index, n)
        raise


def _note(exc: BaseException, index: int, n: int) -> None:
    exc.add_note(f"(in task {index} of {n}, run by thesislib.common.run_tasks)")


# ----------------------------------------------------------------- local processes
def _start_method() -> str:
    import multiprocessing

    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def _run_processes(fn, tasks: list, context, n_workers: int, done) -> None:
    """Run the tasks on ``n_workers`` processes; on the first error cancel what has not started
    and close the pool, else keep it for the next call (:func:`_local_pool`)."""
    from concurrent.futures.process import BrokenProcessPool

    pool = _local_pool(n_workers, context)
    futures = {pool.submit(_call_in_worker, fn, task, context is not None): i for i, task in enumerate(tasks)}
    try:
        for future in as_completed(futures):
            index = futures[future]
            try:
                result = future.result()
            except BrokenProcessPool as exc:
                exc.add_note("a worker process died: killed (e.g. out of memory), or a script started workers "
                             "outside `if __name__ == \"__main__\":`; finished tasks are kept where the caller "
                             "saves them")
                raise
            except Exception as exc:
                _note(exc, index, len(tasks))
                raise
            done(index, result)
    except BaseException:
        close_pool()
        raise


def _local_pool(n_workers: int, context):
    """The pool of the previous call when it has as many workers and an equal context (the
    workers keep what they imported and loaded: the stem features of the next dataset start at
    once), else a new one from a forkserver; the previous pool is closed."""
    import hashlib
    import multiprocessing
    import pickle
    from concurrent.futures import ProcessPoolExecutor

    key = (n_workers, hashlib.sha256(pickle.dumps(context)).hexdigest())
    if _POOL and _POOL[0][0] == key:
        return _POOL[0][1]
    close_pool()
    threads = max(1, (os.cpu_count() or 1) // n_workers)
    pool = ProcessPoolExecutor(n_workers, mp_context=multiprocessing.get_context(_start_method()),
                               initializer=_start_worker, initargs=(context, threads))
    _POOL.append((key, pool))
    return pool


def close_pool() -> None:
    """Stop the worker processes :func:`run_tasks` keeps for its next call (tasks not started are
    cancelled; running ones finish). They also stop when this interpreter exits."""
    while _POOL:
        _POOL.pop()[1].shutdown(wait=True, cancel_futures=True)


def _start_worker(context, threads: int) -> None:
    """A worker process's initializer: keep the context; cap thread pools at ``threads``."""
    _CONTEXT[:] = [context]
    env = {name: str(threads) for name in THREAD_VARIABLES}  # for libraries loaded later
    if "numba" in sys.modules:  # imported already (e.g. while the context was unpickled): numba rereads
        env.pop("NUMBA_NUM_THREADS")  # its variables at each compile and raises when this one changed
    os.environ.update(env)        # after its threads started; set_num_threads below caps it instead
    from threadpoolctl import threadpool_limits

    threadpool_limits(threads)  # BLAS and OpenMP pools already loaded
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
    if "numba" in sys.modules:
        sys.modules["numba"].set_num_threads(min(threads, sys.modules["numba"].config.NUMBA_NUM_THREADS))


def _call_in_worker(fn, task, with_context: bool):
    return fn(task, _CONTEXT[0]) if with_context else fn(task)


# ----------------------------------------------------------------- Dask
def _run_dask(fn, tasks: list, context, scheduler, done) -> None:
    """Run the tasks on a Dask cluster; cancel the rest on the first error."""
    from distributed import Client, as_completed as dask_completed

    client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
    try:
        shared = None if context is None else client.scatter(context, broadcast=True)
        futures = client.map(_call_on_dask, tasks, fn=fn, context=shared, with_context=context is not None,
                             pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        try:
            for future in dask_completed(futures):
                try:
                    result = future.result()
                except Exception as exc:
                    _note(exc, index[future.key], len(tasks))
                    raise
                done(index[future.key], result)
        except BaseException:
            client.cancel(futures)
            raise
    finally:
        if client is not scheduler:
            client.close()


def _call_on_dask(task, fn, context, with_context: bool):
    return fn(task, context) if with_context else fn(task)
