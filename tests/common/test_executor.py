import os
import signal
import traceback
from concurrent.futures.process import BrokenProcessPool

import pytest

from thesislib.common import close_pool, run_tasks, worker_count


# tasks: module-level, so worker processes import them by name
def square_plus(task, context=0):
    return task * task + context


def pid_and_context(task, context=None):
    return os.getpid(), context


def fail_on_three(task):
    if task == 3:
        raise ValueError(f"task {task} is bad")
    return task


def kill_self(task):
    if task == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    return task


def thread_caps(task):
    import numba
    from threadpoolctl import threadpool_info

    return os.environ.get("OMP_NUM_THREADS"), {p["num_threads"] for p in threadpool_info()}, numba.get_num_threads()


def test_worker_count():
    assert worker_count(3) == 3 and worker_count(0) == 1
    assert worker_count(-1) == (os.cpu_count() or 1)


def test_results_in_task_order_in_process_and_on_processes():
    tasks = [5, 1, 4, 2, 3, 0]
    expected = [t * t + 10 for t in tasks]
    assert run_tasks(square_plus, tasks, context=10) == expected
    assert run_tasks(square_plus, tasks, context=10, workers=2) == expected
    assert run_tasks(square_plus, []) == []


def test_one_worker_runs_here_and_more_run_elsewhere_with_the_context_once_per_worker():
    here = run_tasks(pid_and_context, range(3), context={"k": 1})
    assert {pid for pid, _ in here} == {os.getpid()} and here[0][1] == {"k": 1}
    assert run_tasks(pid_and_context, range(1), workers=4)[0][0] == os.getpid()  # one task: no pool
    there = run_tasks(pid_and_context, range(6), context={"k": 2}, workers=2)
    assert os.getpid() not in {pid for pid, _ in there}
    assert all(ctx == {"k": 2} for _, ctx in there)


def test_pool_kept_for_an_equal_context_and_replaced_for_another():
    first = {pid for pid, _ in run_tasks(pid_and_context, range(8), context="a", workers=2)}
    again = {pid for pid, _ in run_tasks(pid_and_context, range(8), context="a", workers=2)}
    other = run_tasks(pid_and_context, range(8), context="b", workers=2)
    assert again <= first and not {pid for pid, _ in other} & first
    assert {ctx for _, ctx in other} == {"b"}
    close_pool()
    assert not {pid for pid, _ in run_tasks(pid_and_context, range(8), context="b", workers=2)} & \
        {pid for pid, _ in other}
    close_pool()


@pytest.mark.parametrize("workers", [1, 2])
def test_exception_propagates_with_the_tasks_traceback(workers):
    with pytest.raises(ValueError, match="task 3 is bad") as info:
        run_tasks(fail_on_three, range(6), workers=workers)
    text = "".join(traceback.format_exception(info.value))
    assert "fail_on_three" in text and 'raise ValueError(f"task {task} is bad")' in text
    assert "in task 3 of 6" in text


def test_killed_worker_raises_broken_pool_with_a_hint():
    with pytest.raises(BrokenProcessPool) as info:
        run_tasks(kill_self, range(4), workers=2)
    assert "worker process died" in "".join(traceback.format_exception(info.value))


def test_workers_cap_their_thread_pools():
    caps = run_tasks(thread_caps, range(2), workers=2)
    share = str(max(1, (os.cpu_count() or 1) // 2))
    assert all(env == share and blas <= {int(share)} and numba == int(share) for env, blas, numba in caps)


class _ImportsNumba:
    """A context whose unpickling imports numba, before the worker's initializer runs."""

    def __reduce__(self):
        return (_numba_loaded, ())


def _numba_loaded():
    import numba  # noqa: F401

    return "numba loaded"


def compile_parallel_then_plain(task, context):
    """What a fresh clone's worker does: numba's threads start, then a function compiles (numba
    rereads its environment variables at each compile)."""
    import numba
    import numpy as np

    @numba.njit(parallel=True, cache=False)
    def total(x):
        s = 0.0
        for i in numba.prange(len(x)):
            s += x[i]
        return s

    @numba.njit(cache=False)
    def plus(x):
        return x + task

    return total(np.ones(4)) + plus(1), numba.get_num_threads(), context


def test_worker_whose_context_imports_numba_can_compile():
    """A context that imports numba while it is unpickled (a model, a sampler) came before the
    worker capped the thread variables; changing NUMBA_NUM_THREADS then made the next compile
    raise (chapter 02 of a fresh clone's default run failed so)."""
    close_pool()
    out = run_tasks(compile_parallel_then_plain, [1, 2], context=_ImportsNumba(), workers=2)
    share = max(1, (os.cpu_count() or 1) // 2)
    assert out == [(6.0, share, "numba loaded"), (7.0, share, "numba loaded")]
    close_pool()


def test_progress_bar_counts_sizes_from_initial(capsys):
    run_tasks(square_plus, range(3), sizes=[2, 2, 1], initial=5, progress=True, desc="demo", unit="img")
    err = capsys.readouterr().err
    assert "demo" in err and "10/10" in err and "img" in err
    run_tasks(square_plus, range(3))
    assert capsys.readouterr().err == ""
    with pytest.raises(ValueError, match="2 sizes for 3 tasks"):
        run_tasks(square_plus, range(3), sizes=[1, 1])


def test_dask_cluster_ships_the_context_and_keeps_order():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(processes=False, n_workers=1, threads_per_worker=2,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        assert run_tasks(square_plus, [3, 1, 2], context=1, scheduler=client) == [10, 2, 5]
        with pytest.raises(ValueError, match="task 3 is bad") as info:
            run_tasks(fail_on_three, range(5), scheduler=client)
        assert "in task 3 of 5" in "".join(traceback.format_exception(info.value))
        assert not client.status == "closed"  # a client passed in stays open
