"""Cross-validation on a Dask cluster: the serial run's numbers, a killed worker's fits re-run, progress, settings."""

import os
import signal
import threading
import time

import numpy as np
import pandas as pd
import pytest

from evaluation import cross_validate, load_data
from evaluation.distributed import _check_gpu_workers, gpu_resources
from evaluation.run import main
from evaluation.tasks import FitJob, progress_reporter
from evaluation.zoo import MODELS
from gaitfeat.parallel import Scheduler, parse_scheduler
from evaluation.splits import Split

# An estimator, a network and a dual-stream model that starts from that network's fit in the same fold.
RUN_MODELS = ["majority", "logreg_all", "xgb_paper14", "stgcn", "dual_gradcam_concat"]


@pytest.fixture(scope="module")
def small():
    data = load_data("synthetic", n_patients=24, random_state=3)
    _ = data.features
    return data


def _run(data, scheduler):
    return cross_validate(RUN_MODELS, data, "gmfcs", n_splits=3, n_bootstrap=50, deep_profile="quick", device="cpu",
                          threads=1, scheduler=scheduler, random_state=5)


def _same(a, b) -> bool:
    """Equal, with NaN equal to NaN (metrics undefined in both runs, e.g. an AUC without both classes)."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return True
    return a == b


def _numbers(res) -> tuple[pd.DataFrame, dict]:
    scores = res.scores()
    return res.predictions, {m: {lvl: s[lvl]["metrics"] for lvl in ("clip", "video", "patient")}
                             for m, s in scores["models"].items()}


@pytest.fixture(scope="module")
def serial(small):
    return _numbers(_run(small, "serial"))


@pytest.mark.slow
def test_local_cluster_gives_the_serial_numbers(small, serial):
    preds, metrics = _numbers(_run(small, "local:2"))
    pd.testing.assert_frame_equal(preds, serial[0], check_exact=True)
    assert _same(metrics, serial[1])
    assert set(preds["model"]) == set(RUN_MODELS)


@pytest.mark.slow
def test_a_killed_worker_is_replaced_and_the_run_ends_with_the_same_numbers(small, serial):
    from dask.distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=50) as cluster, Client(cluster) as client:
        pids = client.run(os.getpid)
        killed = []

        def kill_a_training_worker():
            # Wait until a worker is training a network, let it get going, then kill its process outright.
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                for address, keys in client.processing().items():
                    if address in pids and any("stgcn" in str(k) for k in keys):
                        time.sleep(0.5)
                        os.kill(pids[address], signal.SIGKILL)
                        killed.append(address)
                        return
                time.sleep(0.05)

        killer = threading.Thread(target=kill_a_training_worker, daemon=True)
        killer.start()
        res = _run(small, client)
        killer.join(timeout=10)
        assert killed, "no worker was killed: the test did not exercise a worker failure"
        preds, metrics = _numbers(res)
    pd.testing.assert_frame_equal(preds, serial[0], check_exact=True)
    assert _same(metrics, serial[1])


def test_scheduler_strings():
    assert parse_scheduler(None) == Scheduler("serial")
    assert parse_scheduler("serial") == Scheduler("serial")
    assert parse_scheduler("local:4") == Scheduler("local", workers=4)
    assert parse_scheduler("tcp://10.0.0.5:8786") == Scheduler("remote", address="tcp://10.0.0.5:8786")
    assert str(parse_scheduler("local:2")) == "local:2"
    for bad in ("local:0", "local:x", "local", "dask", "tcp://host", "http://h:1", "local:2; rm -rf /", 3):
        with pytest.raises(ValueError):
            parse_scheduler(bad)


def test_bad_scheduler_and_threads_are_refused_before_any_work(small, capsys):
    with pytest.raises(ValueError, match="scheduler"):
        cross_validate(["majority"], small, "gmfcs", scheduler="cluster", n_bootstrap=10)
    for threads in (0, -1, 1.5, True, 1000):
        with pytest.raises(ValueError, match="threads"):
            cross_validate(["majority"], small, "gmfcs", threads=threads, n_bootstrap=10)
    assert main(["--profile", "quick", "--scheduler", "local:0"]) == 2
    assert "--scheduler" in capsys.readouterr().err
    assert main(["--profile", "quick", "--threads", "0"]) == 2


def test_threads_and_scheduler_are_recorded(small):
    res = cross_validate(["majority"], small, "gmfcs", n_splits=2, n_bootstrap=10, threads=1)
    assert res.config["threads"] == 1 and res.config["scheduler"] == "serial"


def test_gpu_networks_need_a_gpu_worker():
    specs = {n: sp.for_profile("paper", "cuda") for n, sp in MODELS["gmfcs"].items()}
    assert gpu_resources(specs["stgcn"]) == {"GPU": 1}
    assert gpu_resources(specs["logreg_all"]) is None
    assert gpu_resources(MODELS["gmfcs"]["stgcn"].for_profile("compact", "cpu")) is None

    class Cluster:
        def __init__(self, resources):
            self.resources = resources

        def scheduler_info(self):
            return {"workers": {"tcp://a:1": {"resources": self.resources}}}

    with pytest.raises(RuntimeError, match="GPU=1"):
        _check_gpu_workers(Cluster({}), needs_gpu=True)
    _check_gpu_workers(Cluster({"GPU": 1}), needs_gpu=True)
    _check_gpu_workers(Cluster({}), needs_gpu=False)


def test_progress_messages_name_the_fit_and_are_throttled():
    seen = []
    split = Split(0, 2, np.arange(3), np.arange(3, 5))
    report = progress_reporter(seen.append, FitJob("stgcn", split, np.arange(2), np.arange(2, 3)), every_s=3600)
    report({"phase": 1, "epoch": 2, "epochs": 6, "batch": 7, "batches": 24, "stage": "train"})
    report({"phase": 1, "epoch": 2, "epochs": 6, "batch": 8, "batches": 24, "stage": "train"})
    assert seen == ["r0 f2 stgcn epoch 2/6 batch 7/24"]


def test_network_training_reports_every_batch_and_validation():
    from models.deep import STGCNClassifier, training_progress

    rng = np.random.default_rng(0)
    clips = rng.normal(0, 0.3, (40, 16, 17, 3)).astype(np.float32)
    clips[..., 2] = 1.0
    y = np.resize([0, 1], 40)
    calls = []
    est = STGCNClassifier(epochs=2, batch_size=8, clips_per_epoch=16, device="cpu", random_state=0)
    with training_progress(calls.append):
        est.fit(clips[:32], y[:32], eval_set=(clips[32:], y[32:]))
    train = [c for c in calls if c["stage"] == "train"]
    assert [(c["epoch"], c["batch"]) for c in train] == [(1, 1), (1, 2), (2, 1), (2, 2)]
    assert all(c["epochs"] == 2 and c["batches"] == 2 for c in train)
    assert [c["epoch"] for c in calls if c["stage"] == "validate"] == [1, 2]
    calls.clear()
    est.fit(clips[:32], y[:32], eval_set=(clips[32:], y[32:]))       # outside the block: no calls
    assert calls == []
