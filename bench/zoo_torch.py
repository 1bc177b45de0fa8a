"""The model zoo's two graph models in PyTorch, with the recipe of their xlax configs, to
compare accuracy and seconds per epoch with `xlax train` on the same machine.

  resnet : examples/fashion_mnist_resnet.json. Stem Conv 3x3 (16) + BatchNorm + ReLU, three
           stages of one basic block (16, 32, 64 channels; stages 2 and 3 stride 2 with a
           1x1 stride-2 Conv + BatchNorm projection shortcut), global average pooling,
           Linear 64->10. Convs without bias, He-normal; the Linear LeCun-normal.
           BatchNorm momentum 0.1 (= Flax/xlax 0.9), eps 1e-5. SGD Nesterov momentum 0.9,
           lr 0.1, L2 weight decay 5e-4, per-step schedule: linear warm-up over 200 steps,
           then cosine to 0 over the rest of training. Batch 128, inputs (x/255 - 0.286)/0.353.
  unet   : examples/fashion_mnist_unet.json. Encoder Conv3x3+ReLU x2 (24) -> MaxPool2 ->
           x2 (48) -> MaxPool2 -> bottleneck x2 (96); decoder ConvTranspose 2x2 stride 2
           (48), concatenated with the encoder's 48-channel output, Conv x2 (48),
           ConvTranspose (24), concatenated with the 24-channel output, Conv x2 (24),
           Conv 1x1 (1) + sigmoid. Convs followed by ReLU He-normal, others LeCun-normal,
           biases zero. Inputs in [0, 1] plus Gaussian noise (std 0.3), MSE against the
           clean image. Adam lr 2e-3, batch 64, the same warm-up (200 steps) and cosine
           schedule.

Padding follows JAX's SAME rule (stride-2 convs pad 0 before and 1 after), so both models
are the xlax models exactly, up to the random draws. Seconds per epoch exclude evaluation,
as `xlax train` prints them.
Usage: /usr/bin/python3 bench/zoo_torch.py --model resnet [--epochs 15] [--threads 2]
       [--max-steps N (per epoch, to time a part)] [--data DIR] [--channels-last]
"""
import argparse
import gzip
import math
import os
import resource
import subprocess
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def default_data_dir():
    out = subprocess.run(["dpkg", "-L", "dataset-fashion-mnist"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.endswith("train-images-idx3-ubyte.gz"):
            return os.path.dirname(line)
    raise SystemExit("dataset-fashion-mnist not installed (apt-get install dataset-fashion-mnist) and no --data given")


def load_idx(path):
    with gzip.open(path, "rb") as fh:
        raw = fh.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_fmnist(d):
    out = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        x = load_idx(os.path.join(d, f"{prefix}-images-idx3-ubyte.gz")).astype(np.float32) / 255.0
        y = load_idx(os.path.join(d, f"{prefix}-labels-idx1-ubyte.gz")).astype(np.int64)
        out[split] = (torch.from_numpy(x).unsqueeze(1), torch.from_numpy(y))
    return out


class Conv(nn.Module):
    """Conv2d with JAX's SAME padding: out = ceil(in / stride), the odd pad goes after."""

    def __init__(self, cin, cout, k, stride=1, bias=True, gain=2.0):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride=stride, bias=bias)
        self.k, self.stride = k, stride
        nn.init.normal_(self.conv.weight, 0.0, math.sqrt(gain / (cin * k * k)))
        if bias:
            nn.init.zeros_(self.conv.bias)

    def forward(self, x):
        pads = []
        for size in (x.shape[3], x.shape[2]):  # F.pad takes the last dimension first
            out = -(-size // self.stride)
            total = max((out - 1) * self.stride + self.k - size, 0)
            pads += [total // 2, total - total // 2]
        return self.conv(F.pad(x, pads) if any(pads) else x)


def batch_norm(c):
    return nn.BatchNorm2d(c, eps=1e-5, momentum=0.1)


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1, self.bn1 = Conv(cin, cout, 3, stride, bias=False), batch_norm(cout)
        self.conv2, self.bn2 = Conv(cout, cout, 3, 1, bias=False), batch_norm(cout)
        self.proj = None
        if stride != 1 or cin != cout:
            self.proj = nn.Sequential(Conv(cin, cout, 1, stride, bias=False), batch_norm(cout))

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(y + (x if self.proj is None else self.proj(x)))


class ResNet(nn.Module):
    def __init__(self, widths=(16, 32, 64)):
        super().__init__()
        self.stem, self.stem_bn = Conv(1, widths[0], 3, bias=False), batch_norm(widths[0])
        blocks, cin = [], widths[0]
        for i, w in enumerate(widths):
            blocks.append(Block(cin, w, 1 if i == 0 else 2))
            cin = w
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(cin, 10)
        nn.init.normal_(self.head.weight, 0.0, math.sqrt(1.0 / cin))
        nn.init.zeros_(self.head.bias)

    def forward(self, x):
        x = self.blocks(F.relu(self.stem_bn(self.stem(x))))
        return self.head(x.mean(dim=(2, 3)))


def up_conv(cin, cout):
    m = nn.ConvTranspose2d(cin, cout, 2, stride=2)
    nn.init.normal_(m.weight, 0.0, math.sqrt(1.0 / (cin * 4)))
    nn.init.zeros_(m.bias)
    return m


class UNet(nn.Module):
    def __init__(self):
        super().__init__()
        def pair(cin, c):
            return nn.Sequential(Conv(cin, c, 3), nn.ReLU(), Conv(c, c, 3), nn.ReLU())
        self.enc1, self.enc2, self.mid = pair(1, 24), pair(24, 48), pair(48, 96)
        self.up2, self.dec2 = up_conv(96, 48), pair(96, 48)
        self.up1, self.dec1 = up_conv(48, 24), pair(48, 24)
        self.out = Conv(24, 1, 1, gain=1.0)

    def forward(self, x):
        e1 = self.enc1(x)
        e2 = self.enc2(F.max_pool2d(e1, 2))
        m = self.mid(F.max_pool2d(e2, 2))
        d2 = self.dec2(torch.cat([self.up2(m), e2], 1))
        d1 = self.dec1(torch.cat([self.up1(d2), e1], 1))
        return torch.sigmoid(self.out(d1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=["resnet", "unet"], default="resnet")
    ap.add_argument("--epochs", type=int, default=0, help="default: the xlax config's (resnet 15, unet 3)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data", default=None, help="folder with the IDX .gz files (default: from the Debian package)")
    ap.add_argument("--max-steps", type=int, default=0, help="steps per epoch (0 = full epoch)")
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    resnet = a.model == "resnet"
    epochs = a.epochs or (15 if resnet else 3)
    batch = 128 if resnet else 64
    data = load_fmnist(a.data or default_data_dir())
    (xtr, ytr), (xte, yte) = data["train"], data["test"]
    if resnet:
        xtr, xte = (xtr - 0.2860) / 0.3530, (xte - 0.2860) / 0.3530
    noisy_test = None if resnet else xte + 0.3 * torch.randn(xte.shape, generator=torch.Generator().manual_seed(1))
    mf = torch.channels_last if a.channels_last else torch.contiguous_format
    model = (ResNet() if resnet else UNet()).to(memory_format=mf)
    n = xtr.shape[0]
    steps = (n + batch - 1) // batch
    if a.max_steps:
        steps = min(steps, a.max_steps)
    if resnet:
        base_lr = 0.1
        opt = torch.optim.SGD(model.parameters(), lr=base_lr, momentum=0.9, nesterov=True, weight_decay=5e-4)
    else:
        base_lr = 2e-3
        opt = torch.optim.Adam(model.parameters(), lr=base_lr)
    warmup, total = 200, steps * epochs

    def lr_at(step):  # xlax's "cosine" schedule: linear warm-up, then cosine to 0
        if step < warmup:
            return base_lr * (step + 1) / warmup
        t = min(1.0, (step - warmup) / max(total - warmup, 1))
        return base_lr * 0.5 * (1 + math.cos(math.pi * t))
    g = torch.Generator().manual_seed(a.seed)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, model {a.model}, batch {batch}, "
          f"steps/epoch {steps}, epochs {epochs}, params {sum(p.numel() for p in model.parameters())}", flush=True)
    step = 0
    for ep in range(1, epochs + 1):
        model.train()
        perm = torch.randperm(n, generator=g)
        t0, tot, seen = time.perf_counter(), 0.0, 0
        for i in range(steps):
            idx = perm[i * batch:(i + 1) * batch]
            xb = xtr[idx].contiguous(memory_format=mf)
            for group in opt.param_groups:
                group["lr"] = lr_at(step)
            opt.zero_grad(set_to_none=True)
            if resnet:
                loss = F.cross_entropy(model(xb), ytr[idx])
            else:
                loss = F.mse_loss(model(xb + 0.3 * torch.randn_like(xb)), xb)
            loss.backward()
            opt.step()
            step += 1
            tot += loss.item() * idx.numel()
            seen += idx.numel()
        dt = time.perf_counter() - t0
        model.eval()
        with torch.no_grad():
            if resnet:
                correct = sum((model(xte[j:j + 1000].contiguous(memory_format=mf)).argmax(1) == yte[j:j + 1000]).sum().item()
                              for j in range(0, xte.shape[0], 1000))
                metric = f"test_acc {correct / xte.shape[0]:.4f}"
            else:
                se = sum(F.mse_loss(model(noisy_test[j:j + 1000].contiguous(memory_format=mf)), xte[j:j + 1000],
                                    reduction="sum").item() for j in range(0, xte.shape[0], 1000))
                metric = f"test_mse {se / xte.numel():.5f}"
        print(f"epoch {ep}: train_loss {tot / seen:.4f} {metric}, {dt:.1f} s, {seen / dt:.0f} img/s", flush=True)
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    print(metric)


if __name__ == "__main__":
    main()
