"""Data-parallel training of a tiny linear model on synthetic data, on CPU with gloo.

Every rank draws its own shard of y = X @ w_true + noise; DDP averages the gradients, so
all ranks converge to the same w and every rank's loss falls. Started by torchrun (which
sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT) or by a launcher that maps its
own variables onto those names first (see job-mpirun.sh).
"""
import argparse
import os
import socket

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.05)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    # One thread per rank: several ranks share a node's cores.
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    dist.init_process_group("gloo", init_method="env://")
    rank, world = dist.get_rank(), dist.get_world_size()
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    host = socket.gethostname()

    features = 16
    w_true = torch.arange(1, features + 1, dtype=torch.float32) / features
    data = torch.Generator().manual_seed(1000 + rank)
    torch.manual_seed(0)  # the same initial weights everywhere (DDP broadcasts rank 0's anyway)
    model = DistributedDataParallel(torch.nn.Linear(features, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)
    loss_fn = torch.nn.MSELoss()

    for step in range(args.steps):
        x = torch.randn(args.batch_size, features, generator=data)
        y = (x @ w_true + 0.01 * torch.randn(args.batch_size, generator=data)).unsqueeze(1)
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        print(f"[{host} rank {rank}/{world} local {local_rank}] step {step} loss {loss.item():.6f}", flush=True)

    dist.barrier()
    if rank == 0:
        print(f"training done: {world} ranks, {args.steps} steps", flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
