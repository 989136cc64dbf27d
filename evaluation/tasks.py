"""One (repeat, fold, model) fit of the harness as a self-contained task.

:func:`run_fit` is what the serial loop of :func:`evaluation.cross_validate`
calls and what a Dask worker runs (:mod:`evaluation.distributed`): the same
function on the same inputs, so a run gives the same numbers wherever its
tasks ran. Its result, a :class:`FitOutcome`, holds the out-of-fold
predictions and what the report says about the fit.

Reproducibility rests on two things besides the seed: every input comes in
as an argument (no global state), and the number of threads a fit uses is a
setting of the run (:attr:`RunSettings.threads`), applied around each fit.
PyTorch's CPU kernels split their sums over threads, so one network trained
with 1 and with 2 threads ends with different weights (probabilities differ
by up to 0.05 on the default cohort); with the thread count fixed, the same
seed gives bit-identical predictions in this process and on any worker of
the same machine type and library versions, training on the CPU (kernels
differ between instruction sets; GPU training is not bit-reproducible).
Workers must run one task at a time (``--nthreads 1``): torch's thread
count is a setting of the whole process. A machine with fewer cores than
``threads`` caps numba's threads below torch's, which can change the numbers.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from evaluation.fitting import FoldState, fit_predict
from evaluation.splits import Split
from evaluation.zoo import ModelSpec

__all__ = ["FitJob", "FitOutcome", "RunSettings", "run_fit", "fit_threads", "progress_reporter"]


@dataclass(frozen=True)
class RunSettings:
    """What every fit of a run shares besides the data.

    Attributes
    ----------
    task : {"classification", "regression"}
    n_classes : int
        Classes (0 for regression).
    class_weight : None or "balanced"
    random_state : int
    threads : int
        Threads each fit may use (torch's intra-op pool and the BLAS pools).
    """

    task: str
    n_classes: int
    class_weight: str | None
    random_state: int
    threads: int = 2


@dataclass(frozen=True)
class FitJob:
    """One model on one outer split, with the split's inner fitting/validation rows."""

    name: str
    split: Split
    fit_idx: np.ndarray
    val_idx: np.ndarray

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.name, self.split.repeat, self.split.fold)

    def label(self) -> str:
        return f"r{self.split.repeat} f{self.split.fold} {self.name}"


@dataclass
class FitOutcome:
    """What one fit returns.

    Attributes
    ----------
    job : FitJob
    out : ndarray
        ``(n_test, K)`` probabilities or ``(n_test,)`` values for the split's test rows.
    selection : dict
        Parameters chosen, rounds/epochs, candidates tried, fit seconds.
    training : dict or None
        For networks: epochs, best epoch, Grad-CAM scores, selected features.
    estimator : object or None
        The fitted network, kept only when another model of the run starts
        from it (``ModelSpec.backbone_from``).
    """

    job: FitJob
    out: np.ndarray
    selection: dict
    training: dict | None
    estimator: object | None = None


@contextmanager
def fit_threads(n: int):
    """Run the block with torch and the BLAS libraries limited to ``n`` threads; restore them afterwards."""
    import numba
    import torch
    from threadpoolctl import threadpool_limits

    before, before_numba = torch.get_num_threads(), numba.get_num_threads()
    torch.set_num_threads(int(n))
    # numba's OpenMP layer sets the OpenMP thread count of the calling thread when it launches a kernel (the
    # input checks run one inside every fit); left at its own count, torch's next OpenMP regions would run
    # with that many threads and give other numbers.
    numba.set_num_threads(min(int(n), numba.config.NUMBA_NUM_THREADS))
    try:
        with threadpool_limits(int(n)):
            yield
    finally:
        torch.set_num_threads(before)
        numba.set_num_threads(before_numba)


def progress_reporter(show, job: FitJob, every_s: float = 0.5):
    """A :func:`models.deep.training_progress` callback that passes ``"r0 f1 stgcn epoch 2/6 batch 7/24"`` to ``show``.

    Throttled to one call every ``every_s`` seconds, so a bar or a Dask
    event stream is not flooded by every batch.
    """
    last = [-float("inf")]       # the first message always shows (monotonic time may start near 0 at boot)

    def report(info: dict) -> None:
        now = time.monotonic()
        if now - last[0] < every_s:
            return
        last[0] = now
        what = "validating" if info["stage"] == "validate" else f"batch {info['batch']}/{info['batches']}"
        show(f"{job.label()} epoch {info['epoch']}/{info['epochs']} {what}")

    return report


def run_fit(job: FitJob, spec: ModelSpec, dataset, y: np.ndarray, settings: RunSettings, *,
            fold: FoldState | None = None, backbone: FitOutcome | None = None, keep_estimator: bool = False,
            show=None) -> FitOutcome:
    """Fit ``spec`` on ``job``'s split and predict its test rows.

    Parameters
    ----------
    job : FitJob
    spec : ModelSpec
    dataset : Dataset
    y : ndarray
        Class positions ``0..K-1`` or target values, one per clip of ``dataset``.
    settings : RunSettings
    fold : FoldState, optional
        The split's shared networks and trunk cache (serial runs); a task on
        a worker starts from an empty one.
    backbone : FitOutcome, optional
        The fitted model named by ``spec.backbone_from`` in this split (a task
        on a worker receives it from the task that fitted it).
    keep_estimator : bool
        Return the fitted estimator (another model starts from it).
    show : callable, optional
        Receives one-line progress messages during network training.
    """
    fold = fold if fold is not None else FoldState()
    if backbone is not None and spec.backbone_from is not None:
        fold.models.setdefault(spec.backbone_from, backbone.estimator)
    with fit_threads(settings.threads):
        if show is not None and spec.network:
            from models.deep import training_progress

            with training_progress(progress_reporter(show, job)):
                out, selection, training = _fit(job, spec, dataset, y, settings, fold)
        else:
            out, selection, training = _fit(job, spec, dataset, y, settings, fold)
    return FitOutcome(job, out, selection, training, fold.models.get(job.name) if keep_estimator else None)


def _fit(job: FitJob, spec: ModelSpec, dataset, y, settings: RunSettings, fold: FoldState):
    return fit_predict(spec, job.name, dataset, y, job.split, job.fit_idx, job.val_idx, task=settings.task,
                       n_classes=settings.n_classes, fold=fold, class_weight=settings.class_weight,
                       random_state=settings.random_state)
