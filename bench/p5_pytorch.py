#!/usr/bin/env python3
"""P5 reference: the docs/design.md "Performance targets" reference DLRM trained with plain PyTorch on the CPU.

Same model as sparsepipe's reference DLRM: 8 EmbeddingBag tables (100,000 rows × dim 16,
sum pooling, 4 ids per bag), 13 dense features, bottom MLP 512-256-16 (ReLU after every
layer), pairwise dot interaction (upper triangle without the diagonal, 36 pairs, concatenated
with the bottom output: 52), top MLP 512-256-1, BCE with logits, SGD lr 0.05, batch 512.
Embedding bags use sparse gradients (`sparse=True`: only touched rows are updated, the
fastest plain-PyTorch path; sparsepipe's fused sparse SGD does the same).

Prints one JSON line: {"threads": T, "examples_per_sec": …, "iteration_ms": [...], …}.

Usage: python3 bench/p5_pytorch.py --threads 1 --warmup 5 --iterations 30
"""
import argparse
import json
import time

import torch
import torch.nn as nn


class DLRM(nn.Module):
    def __init__(self, tables=8, rows=100_000, dim=16, dense_in=13):
        super().__init__()
        self.embeddings = nn.ModuleList([nn.EmbeddingBag(rows, dim, mode="sum", sparse=True) for _ in range(tables)])
        self.bottom = nn.Sequential(nn.Linear(dense_in, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, dim), nn.ReLU())
        n = tables + 1
        self.register_buffer("triu", torch.triu_indices(n, n, 1), persistent=False)
        self.top = nn.Sequential(nn.Linear(dim + n * (n - 1) // 2, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 1))

    def forward(self, dense, ids, offsets):
        x = self.bottom(dense)
        pooled = [emb(ids[t], offsets) for t, emb in enumerate(self.embeddings)]
        stacked = torch.stack([x] + pooled, dim=1)  # [B, 9, D]
        inter = torch.bmm(stacked, stacked.transpose(1, 2))  # [B, 9, 9]
        pairs = inter[:, self.triu[0], self.triu[1]]  # [B, 36]
        return self.top(torch.cat([x, pairs], dim=1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--iterations", type=int, default=30)
    ap.add_argument("--batch", type=int, default=512)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    B, T, L = args.batch, 8, 4
    model = DLRM()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    loss_fn = nn.BCEWithLogitsLoss()
    pool = []
    for _ in range(8):
        dense = torch.randn(B, 13)
        ids = torch.randint(0, 100_000, (T, B * L))
        labels = (torch.rand(B, 1) < 0.25).float()
        pool.append((dense, ids, labels))
    offsets = torch.arange(0, B * L, L)
    times = []
    cpu0 = None
    for i in range(args.warmup + args.iterations):
        if i == args.warmup:
            cpu0 = time.process_time()
        dense, ids, labels = pool[i % len(pool)]
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(dense, ids, offsets), labels)
        loss.backward()
        opt.step()
        if i >= args.warmup:
            times.append((time.perf_counter() - t0) * 1000)
    cpu_ms = (time.process_time() - cpu0) * 1000
    wall_ms = sum(times)
    print(json.dumps({
        "torch": torch.__version__,
        "threads": args.threads,
        "batch": B,
        "iterations": args.iterations,
        "wall_ms": wall_ms,
        "cpu_ms": cpu_ms,
        "examples_per_sec": args.iterations * B / (wall_ms / 1000),
        "examples_per_cpu_sec": args.iterations * B / (cpu_ms / 1000),
        "iteration_ms": times,
        "final_loss": float(loss.item()),
    }))


if __name__ == "__main__":
    main()
