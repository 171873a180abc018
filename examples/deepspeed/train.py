"""A small DeepSpeed training loop on synthetic data (ZeRO stage 2, fp16), for checking a
multi-node setup without downloading a data set. DeepSpeed's launcher sets the ranks."""
import argparse
import socket

import deepspeed
import torch


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--local_rank", type=int, default=-1)  # set by the deepspeed launcher
    parser = deepspeed.add_config_arguments(parser)
    args = parser.parse_args()

    deepspeed.init_distributed()
    model = torch.nn.Sequential(torch.nn.Linear(1024, 4096), torch.nn.ReLU(), torch.nn.Linear(4096, 1))
    engine, _, _, _ = deepspeed.initialize(args=args, model=model, model_parameters=model.parameters())
    rank = torch.distributed.get_rank()
    w_true = torch.randn(1024, 1, generator=torch.Generator().manual_seed(0))  # the same everywhere
    generator = torch.Generator().manual_seed(1000 + rank)  # each rank its own data
    for step in range(args.steps):
        x = torch.randn(engine.train_micro_batch_size_per_gpu(), 1024, generator=generator)
        x = x.to(engine.device).half()
        y = (x.float() @ w_true.to(engine.device)).half()
        loss = torch.nn.functional.mse_loss(engine(x), y)
        engine.backward(loss)
        engine.step()
        if step % 10 == 0 or step == args.steps - 1:
            print(f"[{socket.gethostname()} rank {rank}] step {step} loss {loss.item():.4f}", flush=True)


if __name__ == "__main__":
    main()
