"""Train a small convolutional network with PyTorch on the CPU.

What it trains: a LeNet-style CNN (two 3x3 convolutions with max-pooling, then two linear layers) on a
synthetic 10-class image problem (32x32 RGB noise images whose class is a bright patch in one of
ten positions), with cross-entropy and Adam, mini-batch by mini-batch. Needs PyTorch; without it the
script says so in one line and exits 0 (``pip install torch`` with a CPU build is enough).

What a good advisor should say:
  * step: ``train_step`` (forward, backward and optimiser step of one mini-batch);
  * top hotspot: ``train_step`` itself (the backward pass and Adam run in PyTorch's C++, charged to
    the user function that called them), with ``ConvNet.forward`` second; almost all of the step is
    **native** (ATen convolution and matmul kernels on the intra-op thread pool), with a little
    interpreted time in ``nn.Module`` call overhead;
  * verdict: **leave it** on the CPU code side: there is no Python left to port, the time is already
    in optimised kernels. What would pay is hardware: **move to an accelerator** (a GPU trains this
    net tens of times faster per step once batches are large), or a larger batch / ``torch.compile``.

    python sample_workloads/torch_cpu.py                     # ~10 s on 2 cores
    advisor profile sample_workloads/torch_cpu.py
"""

from __future__ import annotations

import argparse
import sys

try:
    import torch
    from torch import nn
except ImportError:  # keep the sample runnable (and its test skippable) without PyTorch
    torch = None  # type: ignore[assignment]


def make_batch(gen: "torch.Generator", batch: int) -> tuple["torch.Tensor", "torch.Tensor"]:
    """Noise images with a bright 8x8 patch; the patch position (one of ten) is the label."""
    labels = torch.randint(0, 10, (batch,), generator=gen)
    images = torch.randn(batch, 3, 32, 32, generator=gen)
    for i, label in enumerate(labels.tolist()):
        r, c = divmod(label, 5)
        images[i, :, 4 + 16 * r:12 + 16 * r, 1 + 6 * c:7 + 6 * c] += 0.5
    return images, labels


if torch is not None:
    class ConvNet(nn.Module):
        def __init__(self, width: int) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, width, 3, padding=1)
            self.conv2 = nn.Conv2d(width, 2 * width, 3, padding=1)
            self.pool = nn.MaxPool2d(2)
            self.fc1 = nn.Linear(2 * width * 8 * 8, 128)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.pool(torch.relu(self.conv1(x)))
            x = self.pool(torch.relu(self.conv2(x)))
            x = torch.relu(self.fc1(x.flatten(1)))
            return self.fc2(x)


def train_step(model: "nn.Module", opt: "torch.optim.Optimizer", images: "torch.Tensor",
               labels: "torch.Tensor") -> float:
    """One optimisation step: forward, cross-entropy, backward, Adam."""
    opt.zero_grad(set_to_none=True)
    loss = nn.functional.cross_entropy(model(images), labels)
    loss.backward()
    opt.step()
    return loss.item()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--steps", type=int, default=80, help="mini-batches per epoch")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--width", type=int, default=8, help="channels of the first convolution")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--threads", type=int, default=0,
                        help="intra-op threads (torch.set_num_threads); 0 keeps torch's default")
    args = parser.parse_args()
    if torch is None:
        print("torch_cpu.py: PyTorch is not installed; skipping (pip install torch to run it)")
        sys.exit(0)
    if args.threads > 0:
        torch.set_num_threads(args.threads)  # --threads 1 leaves cores idle: advisor's threads item

    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    model = ConvNet(args.width)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    batches = [make_batch(gen, args.batch) for _ in range(min(args.steps, 20))]
    for epoch in range(args.epochs):
        total = correct = 0.0
        for i in range(args.steps):
            images, labels = batches[i % len(batches)]
            total += train_step(model, opt, images, labels)
        with torch.no_grad():
            images, labels = make_batch(gen, 256)
            correct = (model(images).argmax(1) == labels).float().mean().item()
        print(f"epoch {epoch + 1}: mean loss {total / args.steps:.3f}, held-out accuracy {correct:.1%}")


if __name__ == "__main__":
    main()
