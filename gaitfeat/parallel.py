"""Where batch work runs: in this process, on a local Dask cluster, or on a remote Dask scheduler.

One scheduler string is understood by every command that spreads work
(``python -m evaluation.run --scheduler``, ``python -m gaitfeat.extract
--scheduler``):

``"serial"`` (or ``None``)
    Everything in this process, one task after another.
``"local:N"``
    A :class:`dask.distributed.LocalCluster` of ``N`` worker *processes*,
    one thread each (torch, numba and BLAS each run one thread per worker,
    so ``N`` workers on ``N`` cores do not oversubscribe them).
``"tcp://HOST:PORT"``
    An existing Dask scheduler (``dask scheduler`` on one machine, ``dask
    worker tcp://HOST:8786 --nthreads 1`` on each of the others; see
    ``docs/performance.md``).

Dask is imported only when a cluster is asked for, so serial runs never
pay for it.
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from dataclasses import dataclass

__all__ = ["Scheduler", "parse_scheduler", "dask_client", "limit_threads", "tune_allocator", "single_caller_numba",
           "SCHEDULER_HELP"]

SCHEDULER_HELP = ("serial (default: this process) | local:N (a local Dask cluster of N single-threaded worker "
                  "processes) | tcp://HOST:PORT (a running Dask scheduler)")

_LOCAL = re.compile(r"local:(\d{1,3})")
_REMOTE = re.compile(r"(tcp|tls)://[A-Za-z0-9.\-\[\]:]+:\d{1,5}")


@dataclass(frozen=True)
class Scheduler:
    """A parsed scheduler string.

    Attributes
    ----------
    kind : {"serial", "local", "remote"}
    workers : int or None
        Worker processes of a local cluster.
    address : str or None
        Address of a remote scheduler.
    """

    kind: str
    workers: int | None = None
    address: str | None = None

    @property
    def distributed(self) -> bool:
        return self.kind != "serial"

    def __str__(self) -> str:
        return {"serial": "serial", "local": f"local:{self.workers}", "remote": str(self.address)}[self.kind]


def parse_scheduler(spec: str | Scheduler | None) -> Scheduler:
    """Parse ``"serial"``, ``"local:N"`` or ``"tcp://HOST:PORT"``; ``ValueError`` for anything else."""
    if isinstance(spec, Scheduler):
        return spec
    if spec is None or spec == "serial":
        return Scheduler("serial")
    if not isinstance(spec, str):
        raise ValueError(f"scheduler must be a string ({SCHEDULER_HELP}), got {type(spec).__name__}")
    m = _LOCAL.fullmatch(spec)
    if m:
        n = int(m.group(1))
        if not 1 <= n <= 256:
            raise ValueError(f"local:N needs 1 <= N <= 256 workers, got {spec!r}")
        return Scheduler("local", workers=n)
    if _REMOTE.fullmatch(spec):
        return Scheduler("remote", address=spec)
    raise ValueError(f"unknown scheduler {spec!r}; use {SCHEDULER_HELP}")


def limit_threads(n: int = 1) -> None:
    """Make torch, numba and the BLAS libraries use ``n`` threads in this process.

    Called at the start of every archive-extraction task a Dask worker runs
    (the harness's fits set their own count, ``evaluation.tasks.fit_threads``):
    a worker process that let each library start one thread per core would,
    with one worker per core, run cores x cores threads.
    """
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(n)
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        pass
    import sys

    torch = sys.modules.get("torch")      # only if loaded: importing it costs a worker ~1 s and 180 MB
    if torch is not None and torch.get_num_threads() != n:
        torch.set_num_threads(n)
    try:
        import numba

        numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    except (ImportError, ValueError):  # pragma: no cover
        pass


#: glibc ``mallopt`` settings (parameter number, value) for :func:`tune_allocator`.
_MALLOPT = ((-3, 32 << 20),     # M_MMAP_THRESHOLD: blocks up to 32 MiB come from the heap, not a fresh mmap
            (-1, 512 << 20),    # M_TRIM_THRESHOLD: keep up to 512 MiB of freed heap instead of returning it
            (-2, 64 << 20))     # M_TOP_PAD: grow the heap 64 MiB at a time
_TUNED: list[bool] = []


def tune_allocator() -> bool:
    """Stop glibc from returning and re-faulting the memory of every training batch (Linux; elsewhere a no-op).

    Network training allocates and frees the same few-megabyte activation
    tensors for every batch. With glibc's defaults, blocks above a moving
    threshold are served by ``mmap`` and given back on ``free``, so every
    batch faults its pages in again: the default ``gmfcs`` run spent 142 s
    of system time on 75 million minor page faults. Raising the mmap and trim
    thresholds keeps that memory in the process. Call once per process
    (the evaluation command and every Dask task do); returns whether the
    settings were applied.
    """
    if _TUNED:
        return _TUNED[0]
    ok = False
    try:
        import ctypes
        import sys

        if sys.platform.startswith("linux"):
            libc = ctypes.CDLL("libc.so.6")
            ok = all(libc.mallopt(param, value) == 1 for param, value in _MALLOPT)
    except (OSError, AttributeError):     # not glibc (musl, macOS, Windows): leave the allocator alone
        ok = False
    _TUNED.append(ok)
    return ok


def single_caller_numba() -> str:
    """Have numba's parallel kernels use its own ``workqueue`` threads rather than OpenMP; returns the layer in use.

    For command-line processes that call numba from one thread only (the
    evaluation command). Once numba's OpenMP layer has run a parallel kernel
    (the feature extraction), PyTorch's OpenMP training in the same process
    was 18-25 % slower on 2 cores (an ST-GCN fold: 20 s without, 24-25 s
    after, measured repeatedly); the workqueue layer leaves torch alone. It
    must not be used where several threads call numba at once (it aborts the
    process), so this is never set for library users, and a layer the user
    chose with ``NUMBA_THREADING_LAYER`` is kept.
    """
    import numba

    if os.environ.get("NUMBA_THREADING_LAYER") is None:
        numba.config.THREADING_LAYER = "workqueue"
    return str(numba.config.THREADING_LAYER)


_WORKER_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


@contextmanager
def dask_client(spec: str | Scheduler | None):
    """A ``dask.distributed.Client`` for the scheduler (``None`` for ``"serial"``), closed on exit.

    A ``local:N`` cluster is started here and shut down on exit; its
    workers are processes with one thread each, their thread-count
    environment variables set to 1 before torch, numba or BLAS load.
    """
    sched = parse_scheduler(spec)
    if not sched.distributed:
        yield None
        return
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - dask is a dependency
        raise ImportError("a Dask scheduler needs dask.distributed: pip install 'dask[distributed]'") from exc
    if sched.kind == "remote":
        client = Client(sched.address, timeout="30s")
        try:
            yield client
        finally:
            client.close()
        return
    saved = {k: os.environ.get(k) for k in _WORKER_ENV}
    os.environ.update(_WORKER_ENV)    # inherited by the worker processes the nanny starts
    try:
        cluster = LocalCluster(n_workers=sched.workers, threads_per_worker=1, processes=True,
                               dashboard_address=":0", silence_logs=40)   # any free port: never a clash
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()
