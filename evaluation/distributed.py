"""Cross-validation fits on a Dask cluster: one task per (repeat, fold, model), data scattered once.

:func:`run_on_dask` submits every :class:`~evaluation.tasks.FitJob` of a
run as a task that calls :func:`evaluation.tasks.run_fit` — the function
the serial loop calls — on a worker. The data set and the targets are
scattered to every worker once (``broadcast=True``: a worker that dies
leaves copies on the others). A dual-stream model's task depends on the task
that trained its fold's ST-GCN and receives the fitted network from it.
Results stream back as tasks finish (:func:`dask.distributed.as_completed`)
and are put back in the order of the serial run, so the predictions table,
and every metric computed from it, is the same.

Dask re-runs the tasks of a worker that dies (its results are recomputed
from the same inputs), up to the scheduler's ``allowed-failures`` (3 by
default) per task; after that the run stops with Dask's ``KilledWorker``.

Network training reports its epochs and batches from the worker through
Dask's event stream (topic :data:`PROGRESS_TOPIC`), so the client's bar moves
inside long fits.

Identical numbers hold for CPU training (``device="cpu"``, or ``"auto"`` on
workers without a GPU) on machines of the same kind with the same library
versions: with ``"auto"`` each worker picks its own device, and GPU training
is not bit-reproducible.

GPU workers: with ``device`` set to ``cuda`` (the paper profile), network
tasks ask for the resource ``GPU=1``; start those workers with
``--resources GPU=1`` (``docs/performance.md``). A run that needs a GPU
worker and finds none stops at once with a clear error instead of waiting.
"""

from __future__ import annotations

import time

import numpy as np

from evaluation.tasks import FitJob, FitOutcome, RunSettings, run_fit
from evaluation.zoo import ModelSpec

__all__ = ["run_on_dask", "PROGRESS_TOPIC", "gpu_resources"]

#: Dask event topic on which workers publish network-training progress.
PROGRESS_TOPIC = "gaitfeat-fit-progress"


def gpu_resources(spec: ModelSpec) -> dict | None:
    """Dask resources a task of this spec needs: ``{"GPU": 1}`` for a network on a CUDA device, else none."""
    device = getattr(spec.build, "device", "cpu")
    return {"GPU": 1} if spec.network and isinstance(device, str) and device.startswith("cuda") else None


def _worker_fit(job: FitJob, spec: ModelSpec, payload: dict, settings: RunSettings, keep: bool,
                backbone: FitOutcome | None) -> FitOutcome:
    """The task a worker runs: :func:`run_fit` with the scattered data, progress sent to the client."""
    from gaitfeat.parallel import tune_allocator

    tune_allocator()
    show = None
    try:
        from dask.distributed import get_worker

        worker = get_worker()
        show = lambda message: worker.log_event(PROGRESS_TOPIC, message)   # noqa: E731
    except ValueError:     # not on a worker (e.g. a synchronous test scheduler): no progress events
        pass
    return run_fit(job, spec, payload["dataset"], payload["y"], settings, backbone=backbone, keep_estimator=keep,
                   show=show)


def _check_gpu_workers(client, needs_gpu: bool) -> None:
    if not needs_gpu:
        return
    workers = client.scheduler_info().get("workers", {})
    if not any(w.get("resources", {}).get("GPU", 0) >= 1 for w in workers.values()):
        raise RuntimeError("the networks train on CUDA, but no worker of this Dask cluster has the resource GPU=1; "
                           "start GPU workers with `dask worker tcp://HOST:8786 --nthreads 1 --resources GPU=1` "
                           "or train on the CPU (--device cpu)")


def run_on_dask(client, jobs: list[FitJob], specs: dict[str, ModelSpec], dataset, y: np.ndarray,
                settings: RunSettings, *, on_result=None, show=None) -> dict[tuple, FitOutcome]:
    """Run every job on the cluster behind ``client``; return the outcomes by ``job.key``.

    Parameters
    ----------
    client : dask.distributed.Client
    jobs : list of FitJob
        In the serial run's order (a backbone's job before the jobs that use it).
    specs : dict
        The run's model specs by name.
    dataset : Dataset
    y : ndarray
        Class positions or targets of ``dataset``'s clips.
    settings : RunSettings
    on_result : callable, optional
        Called with each :class:`FitOutcome` as it arrives (progress bars).
    show : callable, optional
        Receives the workers' progress messages.
    """
    from dask.distributed import as_completed

    _check_gpu_workers(client, any(gpu_resources(sp) for sp in specs.values()))
    payload = client.scatter({"dataset": dataset, "y": np.asarray(y)}, broadcast=True, hash=False)
    backbones = {sp.backbone_from for sp in specs.values() if sp.backbone_from}
    token = f"{time.time_ns():x}"     # keys unique to this run, so a long-lived cluster never mixes two runs
    futures: dict[tuple, object] = {}
    if show is not None:
        client.subscribe_topic(PROGRESS_TOPIC, lambda event: show(event[1]))
    try:
        for job in jobs:
            spec = specs[job.name]
            backbone = None
            if spec.backbone_from is not None:
                backbone = futures.get((spec.backbone_from, job.split.repeat, job.split.fold))
            name, repeat, fold = job.key
            futures[job.key] = client.submit(
                _worker_fit, job, spec, payload, settings, job.name in backbones, backbone,
                key=f"gaitfeat-fit-{name}-r{repeat}-f{fold}-{token}", pure=False, resources=gpu_resources(spec))
        outcomes: dict[tuple, FitOutcome] = {}
        try:
            for future in as_completed(list(futures.values())):
                outcome = future.result()
                outcomes[outcome.job.key] = outcome
                if on_result is not None:
                    on_result(outcome)
        except BaseException:
            client.cancel(list(futures.values()))     # a failed run leaves nothing running on a shared cluster
            raise
        return outcomes
    finally:
        if show is not None:
            client.unsubscribe_topic(PROGRESS_TOPIC)
        for future in futures.values():
            future.release()
