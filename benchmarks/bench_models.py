"""Training and inference speed of the ST-GCN configurations (and the dual-stream head) and the sequence regressors.

Usage::

    python benchmarks/bench_models.py                 # CPU, all models
    python benchmarks/bench_models.py --device cuda   # on a GPU
    python benchmarks/bench_models.py --only sequence # the sequence regressors only

For each configuration, in a fresh child process (so peak memory is its own):
training clips/s (forward + backward + Adam step on random 124-frame COCO-17
clips), inference clips/s (evaluation mode, no gradients), multiply-adds per
clip, parameters and peak memory (resident set on the CPU; allocated device
memory on a GPU). Prints the training speed-up of ``compact`` over ``paper``.

The sequence regressors (:mod:`models.deep.sequence_estimators`: temporal
CNN and CNN-LSTM, each with the regression and the bucket head, one target)
get the same network-level figures, plus the wall time of one whole
estimator ``fit`` of 5 epochs x 768 clips (batch 32, validation on 200
clips each epoch, linear correction) — the harness's default setting — and
of ``predict`` on 1000 clips.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import platform
import resource
import time


def _run(config: str, device: str, batch: int, steps: int, frames: int, queue) -> None:
    import torch

    from models.deep.fusion import DualStream
    from models.deep.stgcn import STGCN, count_parameters, multiply_adds

    dev = torch.device(device)
    gen = torch.Generator().manual_seed(0)
    net = DualStream(STGCN("coco17", 4, config=config), 14, 4, fusion="concat").to(dev)
    x = torch.randn(batch, frames, 17, 3, generator=gen).to(dev)
    feats = torch.randn(batch, 14, generator=gen).to(dev)
    y = torch.randint(0, 4, (batch,), generator=gen).to(dev)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, weight_decay=5e-5)

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    def train_step():
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(net(x, feats), y).backward()
        opt.step()

    net.train()
    train_step()                      # warm-up (allocations, kernel selection)
    sync()
    t0 = time.perf_counter()
    for _ in range(steps):
        train_step()
    sync()
    train_s = (time.perf_counter() - t0) / steps
    net.eval()
    with torch.no_grad():
        net(x, feats)
        sync()
        t0 = time.perf_counter()
        for _ in range(steps):
            net(x, feats)
        sync()
        infer_s = (time.perf_counter() - t0) / steps
    if dev.type == "cuda":
        peak = torch.cuda.max_memory_allocated(dev) / 2**20
        where = "GPU allocated"
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        where = "RSS"
    queue.put({"config": config, "train": batch / train_s, "infer": batch / infer_s,
               "params": count_parameters(net.backbone), "macs": multiply_adds(config, 17, frames),
               "peak_mb": peak, "where": where, "threads": torch.get_num_threads(),
               "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else platform.processor() or "cpu"})


def _run_sequence(name: str, head: str, device: str, batch: int, steps: int, frames: int, queue) -> None:
    import numpy as np
    import torch

    from models.deep import CNNLSTMRegressor, TemporalCNNRegressor
    from models.deep.stgcn import count_parameters

    cls = {"TemporalCNN": TemporalCNNRegressor, "CNNLSTM": CNNLSTMRegressor}[name]
    dev = torch.device(device)
    gen = torch.Generator().manual_seed(0)
    shell = cls(head=head)
    shell.layout_ = "coco17"
    net = shell._build(1).to(dev)                # the network fit builds, with the default settings
    x = torch.randn(batch, frames, 17, 3, generator=gen).to(dev)
    y = torch.randn(batch, generator=gen).to(dev)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, weight_decay=1e-4)

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    def train_step():
        opt.zero_grad(set_to_none=True)
        net.loss(net(x), y).backward()
        opt.step()

    net.train()
    train_step()
    sync()
    t0 = time.perf_counter()
    for _ in range(steps):
        train_step()
    sync()
    train_s = (time.perf_counter() - t0) / steps
    net.eval()
    with torch.no_grad():
        net(x)
        sync()
        t0 = time.perf_counter()
        for _ in range(steps):
            net(x)
        sync()
        infer_s = (time.perf_counter() - t0) / steps
    # The whole estimator as the harness runs it: 5 epochs x 768 clips, early stopping on 200 clips, correction.
    rng = np.random.default_rng(0)
    clips = np.concatenate([rng.normal(0, 0.3, (1000, frames, 17, 2)), np.ones((1000, frames, 17, 1))], -1)
    clips, target = clips.astype(np.float32), rng.normal(60, 10, 1000)
    est = cls(head=head, epochs=5, batch_size=32, clips_per_epoch=768, correction="linear", device=device,
              random_state=0).fit(clips, target, eval_set=(clips[:200], target[:200]))
    t0 = time.perf_counter()
    est.predict(clips)
    predict_s = time.perf_counter() - t0
    if dev.type == "cuda":
        peak = torch.cuda.max_memory_allocated(dev) / 2**20
        where = "GPU allocated"
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        where = "RSS"
    queue.put({"config": f"{name}/{head}", "train": batch / train_s, "infer": batch / infer_s,
               "params": count_parameters(net), "fit_s": est.fit_seconds_, "predict_s": predict_s,
               "peak_mb": peak, "where": where, "threads": torch.get_num_threads()})


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--frames", type=int, default=124)
    p.add_argument("--steps", type=int, default=5, help="timed steps per configuration (paper on CPU: ~10 s per step)")
    p.add_argument("--only", choices=("all", "stgcn", "sequence"), default="all")
    args = p.parse_args()
    ctx = mp.get_context("spawn")
    if args.only in ("all", "stgcn"):
        _bench_stgcn(ctx, args)
    if args.only in ("all", "sequence"):
        _bench_sequence(ctx, args)


def _bench_sequence(ctx, args) -> None:
    rows = []
    for name in ("TemporalCNN", "CNNLSTM"):
        for head in ("regression", "buckets"):
            q = ctx.Queue()
            proc = ctx.Process(target=_run_sequence, args=(name, head, args.device, args.batch, max(args.steps, 20),
                                                           args.frames, q))
            proc.start()
            rows.append(q.get())
            proc.join()
    print(f"\nsequence regressors on {args.device} (torch threads {rows[0]['threads']}; default settings, one "
          f"target), batch {args.batch}, {args.frames} frames x 17 joints; fit: 5 epochs x 768 clips + validation on "
          "200 + correction; predict: 1000 clips")
    print(f"{'network/head':<23}{'params':>9}{'train clips/s':>15}{'infer clips/s':>15}{'fit s':>8}{'predict s':>11}"
          f"{'peak MB':>10}")
    for r in rows:
        print(f"{r['config']:<23}{r['params']:>9,}{r['train']:>15.0f}{r['infer']:>15.0f}{r['fit_s']:>8.2f}"
              f"{r['predict_s']:>11.2f}{r['peak_mb']:>10.0f}  ({r['where']})")


def _bench_stgcn(ctx, args) -> None:
    rows = []
    for config in ("compact", "paper"):
        q = ctx.Queue()
        proc = ctx.Process(target=_run, args=(config, args.device, args.batch, args.steps, args.frames, q))
        proc.start()
        rows.append(q.get())
        proc.join()
    print(f"device: {args.device} ({rows[0]['device_name']}), torch threads {rows[0]['threads']}, batch {args.batch}, "
          f"{args.frames} frames x 17 joints, dual-stream network (ST-GCN + 14-feature MLP, concat fusion)")
    print(f"{'config':<9}{'params':>10}{'MMAC/clip':>11}{'train clips/s':>15}{'infer clips/s':>15}{'peak MB':>10}")
    for r in rows:
        print(f"{r['config']:<9}{r['params']:>10,}{r['macs'] / 1e6:>11.0f}{r['train']:>15.1f}{r['infer']:>15.1f}"
              f"{r['peak_mb']:>10.0f}  ({r['where']})")
    compact, paper = rows
    print(f"training speed-up compact / paper: {compact['train'] / paper['train']:.0f}x; "
          f"inference: {compact['infer'] / paper['infer']:.0f}x")


if __name__ == "__main__":
    main()
