"""Data-parallel training that saves a checkpoint and exits 0 when Slurm asks (SIGUSR1), and
resumes from that checkpoint when it starts again (a requeued job, or the next job).

One process per node (`--launcher=each` sets NODE_RANK, NNODES, MASTER_ADDR, MASTER_PORT),
on CPU with gloo. srun-docker passes Slurm's SIGUSR1 on to every node's script; each rank only
notes it, and at the next step boundary the ranks agree (an all-reduce of the flag) to stop
together: rank 0 writes the checkpoint, everyone exits 0. A signal handler must not do the
saving itself: it may run in the middle of a collective, and the other ranks would hang.
"""
import argparse
import os
import signal
import socket
import time

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

stop_requested = False


def request_stop(signum, frame):
    global stop_requested
    stop_requested = True


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checkpoint", required=True, help="file to save to and resume from")
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--step-seconds", type=float, default=0.05, help="pretend each step takes this long")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    signal.signal(signal.SIGUSR1, request_stop)
    torch.set_num_threads(1)
    rank, world = int(os.environ["NODE_RANK"]), int(os.environ["NNODES"])
    dist.init_process_group("gloo", init_method="env://", rank=rank, world_size=world)
    host = socket.gethostname()

    torch.manual_seed(0)
    model = DistributedDataParallel(torch.nn.Linear(16, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    start = 0
    if os.path.exists(args.checkpoint):
        state = torch.load(args.checkpoint)
        model.module.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start = state["step"]
        print(f"[{host} rank {rank}] resumed from step {start}", flush=True)
    print(f"[{host} rank {rank}/{world}] training from step {start}", flush=True)

    w_true = torch.arange(1, 17, dtype=torch.float32) / 16
    data = torch.Generator().manual_seed(1000 + rank)
    for step in range(start, args.steps):
        stop = torch.tensor([1 if stop_requested else 0])
        dist.all_reduce(stop, op=dist.ReduceOp.MAX)
        if stop.item():
            # Each node's Slurm daemon delivers the signal on its own, so this rank's may still be
            # on its way: the all-reduce can decide to stop before it lands. Python puts the
            # default action (death, exit 138) back while it shuts down, so a late SIGUSR1 is
            # ignored from here on, or it would turn this clean stop into a failed job.
            signal.signal(signal.SIGUSR1, signal.SIG_IGN)
            if rank == 0:
                state = {"model": model.module.state_dict(), "optimizer": optimizer.state_dict(), "step": step}
                torch.save(state, args.checkpoint + ".tmp")
                os.replace(args.checkpoint + ".tmp", args.checkpoint)
                print(f"[{host} rank {rank}] checkpoint saved at step {step}", flush=True)
            dist.barrier()
            print(f"[{host} rank {rank}] stopping at step {step} as asked", flush=True)
            dist.destroy_process_group()
            return
        x = torch.randn(64, 16, generator=data)
        y = (x @ w_true).unsqueeze(1)
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()
        time.sleep(args.step_seconds)
    dist.destroy_process_group()
    print(f"[{host} rank {rank}] training done", flush=True)


if __name__ == "__main__":
    main()
