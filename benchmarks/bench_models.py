"""Training and inference speed of the ST-GCN configurations (and the dual-stream head).

Usage::

    python benchmarks/bench_models.py                 # CPU, both configurations
    python benchmarks/bench_models.py --device cuda   # on a GPU

For each configuration, in a fresh child process (so peak memory is its own):
training clips/s (forward + backward + Adam step on random 124-frame COCO-17
clips), inference clips/s (evaluation mode, no gradients), multiply-adds per
clip, parameters and peak memory (resident set on the CPU; allocated device
memory on a GPU). Prints the training speed-up of ``compact`` over ``paper``.
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


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--frames", type=int, default=124)
    p.add_argument("--steps", type=int, default=5, help="timed steps per configuration (paper on CPU: ~10 s per step)")
    args = p.parse_args()
    ctx = mp.get_context("spawn")
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
