"""Speed of the attribution methods (models.attribute) and of the explanation metrics.

Usage::

    python benchmarks/bench_attribution.py                # compact ST-GCN, dual stream, angle CNN on the CPU
    python benchmarks/bench_attribution.py --clips 64 --threads 2

A compact ST-GCN, a dual-stream model on its backbone and an angle CNN are
fitted briefly on a small simulated cohort (throughput does not depend on
how well a network is trained), then each method explains ``--clips``
held-out clips with the study's default settings (IG 16 steps, LIME 64
removals, 4 time segments, 8 clips per captum call). Each model's methods
run in a fresh child process, whose peak resident memory is printed. Prints clips/s and peak MB,
then the cost of one clip's faithfulness metrics (PGI/PGU at k = 1, 3, 5 and
deletion/insertion with 9 steps) and one perturbation response grid.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import platform
import resource
import time

METHODS = {"stgcn": ("cam", "gradcam", "ig", "deeplift", "lime", "occlusion"),
           "dual": ("gradcam", "ig", "deeplift", "lime", "occlusion"),
           "angle": ("ig", "deeplift", "lime", "occlusion")}


def _models(threads: int):
    import torch

    import evaluation
    from models.deep import AngleCNNClassifier, DualStreamClassifier, STGCNClassifier

    torch.set_num_threads(threads)
    data = evaluation.load_data("synthetic", n_patients=24, random_state=0)
    y, g = data.meta["gmfcs"].to_numpy(), data.meta["patient_id"].to_numpy()
    train = g < "P0018"
    stgcn = STGCNClassifier(epochs=2, clips_per_epoch=256, random_state=0, device="cpu").fit(
        data.clips[train], y[train], groups=g[train])
    dual = DualStreamClassifier(features="paper14", backbone=stgcn, epochs=1, pretrain_epochs=1, phase1_epochs=1,
                                clips_per_epoch=256, random_state=0, device="cpu", fps=29.97).fit(
        data.clips[train], y[train], groups=g[train])
    angle = AngleCNNClassifier(fps=29.97, epochs=3, early_stopping=False, random_state=0).fit(data.clips[train],
                                                                                               y[train])
    return data.clips[~train], {"stgcn": stgcn, "dual": dual, "angle": angle}


def _run(model: str, n: int, threads: int, queue) -> None:
    from models.deep.attribution import attribute, mean_pose

    clips, models = _models(threads)
    X = clips[:n]
    base = "zeros" if model == "angle" else mean_pose(clips)
    rates = {}
    for method in METHODS[model]:
        attribute(models[model], X[:2], method, baseline=base, n_steps=16, n_samples=64, batch_size=8)  # warm-up
        t0 = time.perf_counter()
        attribute(models[model], X, method, baseline=base, n_steps=16, n_samples=64, batch_size=8)
        rates[method] = n / (time.perf_counter() - t0)
    queue.put((rates, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


def _metrics(n: int, threads: int) -> tuple[float, float]:
    import numpy as np

    from evaluation.explain_study import network_proba
    from models import explanation_metrics as xm
    from models.perturb import angle_reference, response_curves, velocity_reference

    clips, models = _models(threads)
    X = clips[:n]
    est = models["stgcn"]
    target = network_proba(est, X).argmax(axis=1)

    def score(c):
        return network_proba(est, c)[np.arange(len(c)), target]

    rng = np.random.default_rng(0)
    s = xm.random_scores(rng, len(X), X.shape[2])
    t0 = time.perf_counter()
    xm.prediction_gaps(score, X, s, (1, 3, 5))
    xm.deletion_insertion(score, X, s, steps=9)
    faith = (time.perf_counter() - t0) / len(X)
    refs = {"velocity": velocity_reference(clips, "coco17"), "angle": angle_reference(clips, "coco17")}
    t0 = time.perf_counter()
    response_curves(lambda c: network_proba(est, c)[:, -1], X, [13, 14, 15, 16], refs, "coco17")
    perturb = (time.perf_counter() - t0) / len(X)
    return faith, perturb


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clips", type=int, default=32, help="clips explained per method (default 32)")
    p.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    args = p.parse_args()
    print(f"{platform.processor() or platform.machine()}, {args.threads} torch threads, {args.clips} clips of "
          "124 frames (COCO-17)")
    print(f"{'model':8s} {'method':10s} {'clips/s':>9s} {'peak MB (model process)':>24s}")
    ctx = mp.get_context("spawn")
    for model in METHODS:
        queue = ctx.Queue()
        proc = ctx.Process(target=_run, args=(model, args.clips, args.threads, queue))
        proc.start()
        rates, peak = queue.get()
        proc.join()
        for method, rate in rates.items():
            print(f"{model:8s} {method:10s} {rate:9.1f} {peak:24.0f}")
    faith, perturb = _metrics(args.clips, args.threads)
    print(f"faithfulness metrics (PGI/PGU k=1,3,5 + deletion/insertion, 9 steps): {1000 * faith:.1f} ms per clip")
    print(f"perturbation response grid (3 kinds x 2 modes x 5 multipliers x 2 joint sets): "
          f"{1000 * perturb:.1f} ms per clip")


if __name__ == "__main__":
    main()
