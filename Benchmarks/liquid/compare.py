"""Liquid networks on real sktime data: lfm liquid (CfC / LTC / NCP) vs ncps with the same
hyper-parameters, a PyTorch LSTM of about the same parameter count, and sktime's ROCKET.

Pinned: ncps==1.0.1, torch==2.13.0+cpu, numpy==2.4.6, sktime (ships the .ts files).
Usage (from the repository root, after `swift build -c release --product lfm`):
    python Benchmarks/liquid/compare.py [--datasets BasicMotions,JapaneseVowels] [--seeds 1,2,3]
                                        [--models lfm-cfc,lfm-ltc-ncp,ncps-cfc,lstm,rocket]
                                        [--epochs N] [--tiny] [--threads 1] [--out results.md]
--tiny runs one seed for 2 epochs on each model (a smoke test; its numbers mean nothing).
Timings are wall-clock seconds of training only; run them on a quiet machine with the same
--threads for every model. Results are printed as a Markdown table and as JSON lines.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
LFM = os.environ.get("LFM_BIN", os.path.join(ROOT, ".build", "release", "lfm"))


def sktime_ts(name, split):
    import sktime
    base = os.path.join(os.path.dirname(sktime.__file__), "datasets", "data", name)
    return os.path.join(base, f"{name}_{split}.ts")


def read_ts(path):
    """(list of [steps, features] arrays, list of labels) from a UCR/UEA .ts file."""
    xs, ys, in_data = [], [], False
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if not in_data:
                if line.lower().startswith("@data"):
                    in_data = True
                continue
            *dims, label = line.split(":")
            cols = [np.array([float(v) for v in d.split(",")], dtype=np.float32) for d in dims]
            xs.append(np.stack(cols, axis=1))
            ys.append(label.strip())
    return xs, ys


# ---- shared defaults (the same as `lfm liquid train`: batch 16, or 8 below 128 training
# sequences; prediction = mean of the per-step outputs) ----
DEFAULTS = dict(lr=5e-3, weight_decay=1e-4, batch=16, epochs=120, patience=25, warmup_epochs=2, clip=1.0, val=0.15)


def split_and_normalise(xs, ys, classes, seed):
    rng = np.random.default_rng(seed)
    train_idx, val_idx = [], []
    for c in classes:
        g = [i for i, y in enumerate(ys) if y == c]
        rng.shuffle(g)
        n_val = max(1, round(len(g) * DEFAULTS["val"])) if len(g) >= 3 else 0
        val_idx += g[:n_val]
        train_idx += g[n_val:]
    allsteps = np.concatenate([xs[i] for i in train_idx])
    mean, std = allsteps.mean(0), allsteps.std(0)
    std[std < 1e-8] = 1
    return sorted(train_idx), sorted(val_idx), mean, std


def pad_batch(xs, mean, std):
    steps = max(len(x) for x in xs)
    out = np.zeros((len(xs), steps, xs[0].shape[1]), dtype=np.float32)
    for b, x in enumerate(xs):
        out[b, : len(x)] = (x - mean) / std
    return torch.from_numpy(out), torch.tensor([len(x) for x in xs])


def train_torch(make_model, train, test, classes, seed, epochs):
    """The lfm liquid train recipe in PyTorch; returns (test accuracy, seconds, parameters)."""
    torch.manual_seed(seed)
    xs, ys = train
    cidx = {c: i for i, c in enumerate(classes)}
    tr, va, mean, std = split_and_normalise(xs, ys, classes, seed)
    model = make_model()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=DEFAULTS["lr"], weight_decay=DEFAULTS["weight_decay"])
    batch = DEFAULTS["batch"] if len(tr) >= 128 else 8
    steps_per_epoch = math.ceil(len(tr) / batch)
    total, warm = epochs * steps_per_epoch, DEFAULTS["warmup_epochs"] * steps_per_epoch

    def lr_at(step):
        if step < warm:
            return DEFAULTS["lr"] * (step + 1) / warm
        p = min((step - warm) / max(total - warm, 1), 1)
        return DEFAULTS["lr"] * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * p)))

    def logits_of(idx, data):
        x, lengths = pad_batch([data[0][i] for i in idx], mean, std)
        out = model(x)
        out = out[0] if isinstance(out, tuple) else out
        # mean of the per-step outputs over each sequence's valid steps (lfm's default readout)
        mask = (torch.arange(out.shape[1])[None, :] < lengths[:, None]).float()[:, :, None]
        return (out * mask).sum(1) / lengths[:, None].float()

    def evaluate(idx, data):
        model.eval()
        with torch.no_grad():
            logits = torch.cat([logits_of(idx[i:i + 64], data) for i in range(0, len(idx), 64)])
        model.train()
        y = torch.tensor([cidx[data[1][i]] for i in idx])
        return torch.nn.functional.cross_entropy(logits, y).item(), (logits.argmax(1) == y).float().mean().item()

    rng = np.random.default_rng(seed)
    best, best_state, since, step = float("inf"), None, 0, 0
    t0 = time.time()
    for _ in range(epochs):
        order = list(tr)
        rng.shuffle(order)
        for i in range(0, len(order), batch):
            idx = order[i:i + batch]
            y = torch.tensor([cidx[ys[j]] for j in idx])
            loss = torch.nn.functional.cross_entropy(logits_of(idx, train), y)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, DEFAULTS["clip"])
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            opt.step()
            step += 1
        monitored = evaluate(va, train)[0] if va else loss.item()
        if monitored < best:
            best, since = monitored, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            since += 1
            if since >= DEFAULTS["patience"]:
                break
    seconds = time.time() - t0
    model.load_state_dict(best_state)
    _, acc = evaluate(list(range(len(test[0]))), test)
    return acc, seconds, sum(p.numel() for p in params)


class LSTMClassifier(torch.nn.Module):
    def __init__(self, features, hidden, classes):
        super().__init__()
        self.lstm = torch.nn.LSTM(features, hidden, batch_first=True)
        self.fc = torch.nn.Linear(hidden, classes)

    def forward(self, x):
        return self.fc(self.lstm(x)[0])


def lstm_hidden_for(params, features, classes):
    h = 1
    while 4 * h * (features + h + 2) + (h + 1) * classes < params:
        h += 1
    return h


def run_lfm(args, train_path, test_path, seed, epochs, extra):
    with tempfile.TemporaryDirectory() as d:
        cmd = [LFM, "liquid", "train", "--data", train_path, "--seed", str(seed), "--out", d, "--test", test_path, "--json"] + extra
        if epochs:
            cmd += ["--epochs", str(epochs)]
        t0 = time.time()
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
        summary = json.loads(out)
        return summary["test_accuracy"], summary.get("seconds", time.time() - t0), summary["parameters"]


def run_rocket(train, test, seed):
    from sktime.classification.kernel_based import RocketClassifier

    def to3d(xs, steps):
        out = np.zeros((len(xs), xs[0].shape[1], steps), dtype=np.float32)
        for b, x in enumerate(xs):
            out[b, :, : len(x)] = x.T
            out[b, :, len(x):] = x[-1][:, None]   # pad with the last value
        return out

    steps = max(max(len(x) for x in train[0]), max(len(x) for x in test[0]))
    clf = RocketClassifier(random_state=seed)
    t0 = time.time()
    clf.fit(to3d(train[0], steps), np.array(train[1]))
    seconds = time.time() - t0
    acc = float((clf.predict(to3d(test[0], steps)) == np.array(test[1])).mean())
    return acc, seconds, None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", default="BasicMotions,JapaneseVowels")
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--models", default="lfm-cfc,lfm-ltc-ncp,ncps-cfc,lstm,rocket")
    ap.add_argument("--epochs", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--tiny", action="store_true")
    ap.add_argument("--out")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    seeds = [int(s) for s in args.seeds.split(",")][: 1 if args.tiny else None]
    epochs = 2 if args.tiny else (args.epochs or DEFAULTS["epochs"])
    rows = []
    for name in args.datasets.split(","):
        tr_path, te_path = sktime_ts(name, "TRAIN"), sktime_ts(name, "TEST")
        train, test = read_ts(tr_path), read_ts(te_path)
        classes = sorted(set(train[1]), key=lambda c: (len(c), c))
        features = train[0][0].shape[1]
        import ncps.torch
        from ncps.wirings import AutoNCP
        for model in args.models.split(","):
            for seed in seeds:
                if model == "lfm-cfc":
                    acc, sec, n = run_lfm(args, tr_path, te_path, seed, epochs if (args.tiny or args.epochs) else 0, ["--cell", "cfc", "--units", "64"])
                elif model == "lfm-ltc-ncp":
                    acc, sec, n = run_lfm(args, tr_path, te_path, seed, epochs if (args.tiny or args.epochs) else 0,
                                          ["--cell", "ltc", "--units", "19", "--wiring", f"auto:{len(classes)}"])
                elif model == "ncps-cfc":
                    acc, sec, n = train_torch(lambda: ncps.torch.CfC(features, 64, proj_size=len(classes), batch_first=True),
                                              train, test, classes, seed, epochs)
                elif model == "ncps-ltc-ncp":
                    acc, sec, n = train_torch(lambda: ncps.torch.LTC(features, AutoNCP(19, len(classes)), batch_first=True),
                                              train, test, classes, seed, epochs)
                elif model == "lstm":
                    ref = sum(p.numel() for p in ncps.torch.CfC(features, 64, proj_size=len(classes)).parameters())
                    h = lstm_hidden_for(ref, features, len(classes))
                    acc, sec, n = train_torch(lambda: LSTMClassifier(features, h, len(classes)), train, test, classes, seed, epochs)
                elif model == "rocket":
                    acc, sec, n = run_rocket(train, test, seed)
                else:
                    raise SystemExit(f"unknown model {model}")
                row = {"dataset": name, "model": model, "seed": seed, "accuracy": acc, "train_seconds": sec, "parameters": n}
                print(json.dumps(row), flush=True)
                rows.append(row)
    lines = ["| dataset | model | seeds | accuracy (mean ± sd) | parameters | train s (mean) |", "|---|---|---|---|---|---|"]
    for name in args.datasets.split(","):
        for model in args.models.split(","):
            rs = [r for r in rows if r["dataset"] == name and r["model"] == model]
            if not rs:
                continue
            accs = np.array([r["accuracy"] for r in rs])
            lines.append(f"| {name} | {model} | {len(rs)} | {accs.mean():.3f} ± {accs.std():.3f} | {rs[0]['parameters']} | "
                         f"{np.mean([r['train_seconds'] for r in rs]):.1f} |")
    table = "\n".join(lines)
    print(table)
    if args.out:
        with open(args.out, "w") as f:
            f.write(table + "\n")


if __name__ == "__main__":
    main()
