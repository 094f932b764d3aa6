"""Running batch jobs: a local pool of spawned worker processes, or a Dask cluster.  Both
call the same task, :func:`formcheck.batch.task.run_recording`, and report each
:class:`~formcheck.batch.jobs.Outcome` as it arrives.  Dask is imported only here, and only
for ``--scheduler``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from formcheck.batch.jobs import Job, Outcome
from formcheck.batch.task import failure_reason, mark_stopping, run_recording
from formcheck.errors import BatchSetupError

#: Environment variables that cap the BLAS/OpenMP thread pools of a worker process.
THREAD_ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                   "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
#: Threads per local worker process for the BLAS/OpenMP pools (None = library defaults).
#: Chosen by measurement with ``bench/batch_speed.py`` (see docs/batch.md).
DEFAULT_WORKER_THREADS: int | None = 1


def _worker_init(parent_pid: int) -> None:
    """Worker process setup: Ctrl-C is the parent's to handle (it stops the workers with
    SIGTERM, which raises SystemExit here so staged output folders are cleaned up), and on
    Linux the worker is sent SIGTERM when the parent dies (even by SIGKILL)."""
    import threading

    from tqdm import tqdm

    # tqdm would otherwise create a multiprocessing lock (a named semaphore) per worker,
    # which a worker stopped by SIGTERM leaves behind (a resource_tracker warning)
    tqdm.set_lock(threading.RLock())
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def _term(signum: int, frame: object) -> None:
        mark_stopping()
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _term)
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # pragma: no cover - exotic libc
            pass
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


@contextlib.contextmanager
def _thread_env(threads: int | None) -> Iterator[None]:
    """Set the BLAS/OpenMP thread caps for worker processes started inside the block
    (variables the user set are left alone)."""
    if threads is None:
        yield
        return
    added = [v for v in THREAD_ENV_VARS if v not in os.environ]
    for v in added:
        os.environ[v] = str(threads)
    try:
        yield
    finally:
        for v in added:
            os.environ.pop(v, None)


def _stop_children(kids: list[Any], grace_s: float = 15.0) -> None:
    """SIGTERM the pool's worker processes (they clean up their staged folders), then
    SIGKILL any still alive after ``grace_s``."""
    for p in kids:
        with contextlib.suppress(Exception):
            p.terminate()
    deadline = time.monotonic() + grace_s
    for p in kids:
        p.join(max(0.0, deadline - time.monotonic()))
        if p.is_alive():
            with contextlib.suppress(Exception):
                p.kill()
            p.join(2.0)


def run_local(jobs: list[Job], n_workers: int, on_done: Callable[[Outcome], None],
              threads: int | None = DEFAULT_WORKER_THREADS) -> None:
    """Run ``jobs`` in ``n_workers`` spawned worker processes, calling ``on_done`` per job.

    At most ``n_workers`` jobs are in flight, so if a worker process dies (killed, out of
    memory, a crash in native code), only those jobs are affected: each is then retried
    alone in a fresh pool, and fails ("the worker process died") only if it kills that one
    too."""
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    ctx = mp.get_context("spawn")
    pending: deque[Job] = deque(jobs)
    suspects: deque[Job] = deque()
    with _thread_env(threads):
        while pending or suspects:
            size = max(1, min(n_workers, len(pending) + len(suspects)))
            others = set(mp.active_children())  # the caller's own child processes
            ex = ProcessPoolExecutor(max_workers=size, mp_context=ctx,
                                     initializer=_worker_init, initargs=(os.getpid(),))
            inflight: dict[Any, tuple[Job, bool]] = {}
            broken = False
            try:
                while (pending or suspects or inflight) and not broken:
                    try:
                        if suspects:
                            if not inflight:
                                j = suspects.popleft()
                                try:
                                    inflight[ex.submit(run_recording, j)] = (j, True)
                                except BaseException:
                                    suspects.appendleft(j)
                                    raise
                        else:
                            while pending and len(inflight) < size:
                                j = pending.popleft()
                                try:
                                    inflight[ex.submit(run_recording, j)] = (j, False)
                                except BaseException:
                                    pending.appendleft(j)
                                    raise
                    except BrokenProcessPool:
                        broken = True
                    if not inflight:
                        continue
                    done, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
                    for f in done:
                        j, alone = inflight.pop(f)
                        try:
                            on_done(f.result())
                        except BrokenProcessPool:
                            broken = True
                            if alone:
                                on_done(Outcome(
                                    index=j.index, status="failed", action="none",
                                    reason="the worker process died while analysing it "
                                           "(killed, out of memory or crashed)"))
                            else:
                                suspects.append(j)
                        except Exception as exc:  # noqa: BLE001 - e.g. pickling problems
                            on_done(Outcome(index=j.index, status="failed", action="none",
                                            reason=failure_reason(exc, j.src)))
                if broken:  # collect every other in-flight job: it died with the pool
                    for f in list(inflight):
                        j, _alone = inflight.pop(f)
                        try:
                            on_done(f.result())
                        except Exception:  # noqa: BLE001
                            suspects.append(j)
            except BaseException:
                ex.shutdown(wait=False, cancel_futures=True)
                _stop_children([p for p in mp.active_children() if p not in others])
                raise
            ex.shutdown(wait=True, cancel_futures=True)


def connect(address: str) -> Any:
    """A ``dask.distributed.Client`` for the scheduler at ``address`` (one-line errors when
    Dask is not installed or the scheduler cannot be reached)."""
    try:
        from dask.distributed import Client
    except ImportError:
        raise BatchSetupError("--scheduler needs Dask, which is not installed; install it "
                              "with: pip install 'formcheck[cluster]'") from None
    try:
        return Client(address, timeout="20s")
    except Exception as exc:  # noqa: BLE001 - OSError, TimeoutError, ValueError ...
        raise BatchSetupError(f"cannot connect to the Dask scheduler at {address} "
                              f"({failure_reason(exc)}); is 'dask scheduler' running "
                              "there?") from None


def run_dask(jobs: list[Job], client: Any, on_done: Callable[[Outcome], None]) -> None:
    """Run ``jobs`` on a Dask cluster (``client`` from :func:`connect`): one task per
    recording (:func:`run_recording`, ``pure=False``), results as they complete.  On
    Ctrl-C the tasks not yet finished are cancelled."""
    from dask.distributed import as_completed

    futures: dict[Any, Job] = {}
    try:
        for j in jobs:
            futures[client.submit(run_recording, j, pure=False,
                                  key=f"formcheck-{j.index}-{uuid.uuid4().hex[:8]}")] = j
        for f in as_completed(list(futures)):
            j = futures[f]
            try:
                on_done(f.result())
            except Exception as exc:  # noqa: BLE001 - worker lost, unpicklable, ...
                on_done(Outcome(index=j.index, status="failed", action="none",
                                reason=failure_reason(exc, j.src)))
    except BaseException:
        with contextlib.suppress(Exception):
            client.cancel(list(futures))
        raise
