"""Liquid networks on real sktime data: lfm liquid (CfC / LTC / NCP) vs ncps with the same
hyper-parameters, a PyTorch LSTM of about the same parameter count, and sktime's ROCKET
(classification) or sktime's NaiveForecaster / ThetaForecaster (forecasting).

Pinned: ncps==1.0.1, torch==2.13.0+cpu, numpy==2.4.6, sktime 1.2.0 (ships the data files;
ROCKET needs numba, ThetaForecaster statsmodels).
Usage (from the repository root, after `swift build -c release --product lfm`):
    python Benchmarks/liquid/compare.py [--datasets BasicMotions,JapaneseVowels,ItalyPowerDemand,Airline]
                                        [--seeds 1,2,3,4,5] [--models lfm-cfc,ncps-cfc,...]
                                        [--epochs N] [--tiny] [--threads 1] [--out results.md]
                                        [--jsonl rows.jsonl]
Classification sets (sktime .ts files, published train/test splits): BasicMotions,
JapaneseVowels, ItalyPowerDemand, GunPoint, ArrowHead. Forecasting series: Airline (monthly,
test = last 36 months, lookback 12) and solar (half-hourly, test = last 48 steps, lookback 48);
one-step-ahead forecasts of the test period, MSE in the series' units. Models:
  lfm-cfc, lfm-cfc-ncp, lfm-ltc-ncp    `lfm liquid train` (CfC 64; CfC / LTC on AutoNCP(19, outputs))
  ncps-cfc, ncps-cfc-ncp, ncps-ltc-ncp ncps 1.0.1 trained with the same recipe in PyTorch
  lstm                                 torch.nn.LSTM of about the CfC-64's parameter count
  rocket                               sktime RocketClassifier (classification only)
  naive, theta                         sktime NaiveForecaster (seasonal last value) / ThetaForecaster,
                                       refitted before each one-step forecast (forecasting only)
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


def sktime_data(*parts):
    import sktime
    return os.path.join(os.path.dirname(sktime.__file__), "datasets", "data", *parts)


def sktime_ts(name, split):
    return sktime_data(name, f"{name}_{split}.ts")


# Forecasting series: file in sktime's data folder, value column, input window, seasonal period,
# length of the test period (the last steps of the series).
FORECAST = {
    "Airline": dict(path=("Airline", "Airline.csv"), lookback=12, sp=12, test=36),
    "solar": dict(path=("solar", "solar.csv"), lookback=48, sp=48, test=48),
}


def read_series(name):
    """The series' values (last column of sktime's CSV, header skipped) as float32."""
    import csv
    with open(sktime_data(*FORECAST[name]["path"]), encoding="utf-8") as f:
        rows = list(csv.reader(f))[1:]
    return np.array([float(r[-1]) for r in rows if r], dtype=np.float32)


def windows(series, lookback, horizon=1):
    """[(input [lookback, 1], targets [horizon]) ...] for every window, as ForecastWindows cuts them."""
    x = series.reshape(-1, 1)
    return [(x[w:w + lookback], series[w + lookback:w + lookback + horizon]) for w in range(len(series) - lookback - horizon + 1)]


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
DEFAULTS = dict(lr=5e-3, weight_decay=1e-4, batch=16, epochs=120, patience=25, warmup_epochs=2, clip=1.0, val=0.15,
                noise=0.15)  # noise: std of Gaussian noise on the normalised training inputs (classification)


def round_half_up(x):
    """Swift's `.rounded()` (lfm's split size): 4.5 -> 5, where Python's round gives 4."""
    return math.floor(x + 0.5)


def split_and_normalise(xs, ys, classes, seed):
    rng = np.random.default_rng(seed)
    train_idx, val_idx = [], []
    for c in classes:
        g = [i for i, y in enumerate(ys) if y == c]
        rng.shuffle(g)
        n_val = max(1, round_half_up(len(g) * DEFAULTS["val"])) if len(g) >= 3 else 0
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


def fit(model, params, opt, lr_at, tr, va, batch, epochs, seed, batch_loss, validation_loss):
    """The PyTorch side's training loop, shared by classification and forecasting: seeded shuffles, AdamW steps
    with clipping and the learning-rate schedule, early stopping on the validation loss (the last batch's loss
    without a validation split); the best state is loaded back. Returns the training seconds."""
    rng = np.random.default_rng(seed)
    best, best_state, since, step = float("inf"), None, 0, 0
    t0 = time.time()
    for _ in range(epochs):
        order = list(tr)
        rng.shuffle(order)
        for i in range(0, len(order), batch):
            loss = batch_loss(order[i:i + batch])
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, DEFAULTS["clip"])
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            opt.step()
            step += 1
        monitored = validation_loss(va) if va else loss.item()
        if monitored < best:
            best, since = monitored, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            since += 1
            if since >= DEFAULTS["patience"]:
                break
    seconds = time.time() - t0
    model.load_state_dict(best_state)
    return seconds


def train_torch(make_model, train, test, classes, seed, epochs):
    """The lfm liquid train recipe in PyTorch; returns (test accuracy, seconds, parameters).
    With classes=None the task is forecasting (`lfm liquid train --task forecast`): train/test
    are windows from `windows`, the prediction is the output at the window's last step as the
    change from its last value in units of the training std, the validation split is the last
    15 % of the windows, and the metric is the test MSE in the series' units."""
    torch.manual_seed(seed)
    if classes is None:
        return train_torch_forecast(make_model, train, test, seed, epochs)
    xs, ys = train
    cidx = {c: i for i, c in enumerate(classes)}
    tr, va, mean, std = split_and_normalise(xs, ys, classes, seed)
    model = make_model()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=DEFAULTS["lr"], weight_decay=DEFAULTS["weight_decay"])
    batch = DEFAULTS["batch"] if len(tr) >= 128 else 8
    lr_at = lr_schedule(epochs, math.ceil(len(tr) / batch))

    def logits_of(idx, data, noise=0.0):
        x, lengths = pad_batch([data[0][i] for i in idx], mean, std)
        valid = (torch.arange(x.shape[1])[None, :] < lengths[:, None]).float()[:, :, None]
        if noise > 0:   # on the valid steps only, as lfm does
            x = x + noise * torch.randn(x.shape) * valid
        out = model(x)
        out = out[0] if isinstance(out, tuple) else out
        # mean of the per-step outputs over each sequence's valid steps (lfm's default readout)
        return (out * valid).sum(1) / lengths[:, None].float()

    def evaluate(idx, data):
        model.eval()
        with torch.no_grad():
            logits = torch.cat([logits_of(idx[i:i + 64], data) for i in range(0, len(idx), 64)])
        model.train()
        y = torch.tensor([cidx[data[1][i]] for i in idx])
        return torch.nn.functional.cross_entropy(logits, y).item(), (logits.argmax(1) == y).float().mean().item()

    def batch_loss(idx):
        y = torch.tensor([cidx[ys[j]] for j in idx])
        return torch.nn.functional.cross_entropy(logits_of(idx, train, DEFAULTS["noise"]), y)

    seconds = fit(model, params, opt, lr_at, tr, va, batch, epochs, seed, batch_loss,
                  lambda idx: evaluate(idx, train)[0])
    _, acc = evaluate(list(range(len(test[0]))), test)
    return acc, seconds, sum(p.numel() for p in params)


def lr_schedule(epochs, steps_per_epoch):
    total, warm = epochs * steps_per_epoch, DEFAULTS["warmup_epochs"] * steps_per_epoch

    def lr_at(step):
        if step < warm:
            return DEFAULTS["lr"] * (step + 1) / warm
        p = min((step - warm) / max(total - warm, 1), 1)
        return DEFAULTS["lr"] * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * p)))
    return lr_at


def train_torch_forecast(make_model, train, test, seed, epochs):
    n_val = max(1, round_half_up(len(train) * DEFAULTS["val"])) if len(train) >= 3 else 0
    tr, va = list(range(len(train) - n_val)), list(range(len(train) - n_val, len(train)))
    allsteps = np.concatenate([train[i][0] for i in tr])          # windows overlap: as lfm counts them
    mean, std = allsteps.mean(0), allsteps.std(0)
    std[std < 1e-8] = 1
    model = make_model()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=DEFAULTS["lr"], weight_decay=DEFAULTS["weight_decay"])
    batch = DEFAULTS["batch"] if len(tr) >= 128 else 8
    lr_at = lr_schedule(epochs, math.ceil(len(tr) / batch))

    def tensors(idx, data):
        x = torch.from_numpy(np.stack([(data[i][0] - mean) / std for i in idx]).astype(np.float32))
        last = torch.from_numpy(np.stack([data[i][0][-1] for i in idx]).astype(np.float32))     # [B, 1]
        y = torch.from_numpy(np.stack([data[i][1] for i in idx]).astype(np.float32))            # [B, H]
        return x, last, y

    def predict(x):
        out = model(x)
        out = out[0] if isinstance(out, tuple) else out
        return out[:, -1, :]

    def normalised_targets(last, y):
        return (y - last) / float(std[0])

    def evaluate(idx, data):
        model.eval()
        with torch.no_grad():
            x, last, y = tensors(idx, data)
            out = predict(x)
            loss = torch.nn.functional.mse_loss(out, normalised_targets(last, y)).item()
            mse = torch.mean((last + out * float(std[0]) - y) ** 2).item()
        model.train()
        return loss, mse

    def batch_loss(idx):
        x, last, y = tensors(idx, train)
        return torch.nn.functional.mse_loss(predict(x), normalised_targets(last, y))

    seconds = fit(model, params, opt, lr_at, tr, va, batch, epochs, seed, batch_loss,
                  lambda idx: evaluate(idx, train)[0])
    return evaluate(list(range(len(test))), test)[1], seconds, sum(p.numel() for p in params)


def run_sktime_forecaster(name, series, spec):
    """One-step-ahead forecasts of the test period, refitting on everything before each step."""
    import pandas as pd
    from sktime.forecasting.naive import NaiveForecaster
    t0 = time.time()
    errors = []
    start = len(series) - spec["test"]
    for t in range(start, len(series)):
        y = pd.Series(series[:t].astype(np.float64))
        if name == "naive":
            f = NaiveForecaster(strategy="last", sp=spec["sp"])
        else:
            from sktime.forecasting.theta import ThetaForecaster
            # Theta's multiplicative deseasonalisation needs positive values (solar has zeros)
            f = ThetaForecaster(sp=spec["sp"], deseasonalize=bool(series.min() > 0))
        f.fit(y)
        errors.append(float(f.predict(fh=[1]).iloc[0]) - float(series[t]))
    return float(np.mean(np.square(errors))), time.time() - t0, None


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
        metric = summary["test_mse"] if "--task" in extra else summary["test_accuracy"]
        return metric, summary.get("seconds", time.time() - t0), summary["parameters"]


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


CLASSIFIERS = "lfm-cfc,lfm-cfc-ncp,lfm-ltc-ncp,ncps-cfc,ncps-cfc-ncp,ncps-ltc-ncp,lstm,rocket"
FORECASTERS = "lfm-cfc,lfm-cfc-ncp,lfm-ltc-ncp,ncps-cfc,ncps-cfc-ncp,ncps-ltc-ncp,lstm,naive,theta"


def run_classification(name, model, seed, epochs, lfm_epochs, args):
    import ncps.torch
    from ncps.wirings import AutoNCP
    tr_path, te_path = sktime_ts(name, "TRAIN"), sktime_ts(name, "TEST")
    train, test = read_ts(tr_path), read_ts(te_path)
    classes = sorted(set(train[1]), key=lambda c: (len(c), c))
    features, k = train[0][0].shape[1], len(classes)
    if model == "lfm-cfc":
        return run_lfm(args, tr_path, te_path, seed, lfm_epochs, ["--cell", "cfc", "--units", "64"])
    if model == "lfm-cfc-ncp":
        return run_lfm(args, tr_path, te_path, seed, lfm_epochs, ["--cell", "cfc", "--units", "19", "--wiring", f"auto:{k}"])
    if model == "lfm-ltc-ncp":
        return run_lfm(args, tr_path, te_path, seed, lfm_epochs, ["--cell", "ltc", "--units", "19", "--wiring", f"auto:{k}"])
    if model == "ncps-cfc":
        return train_torch(lambda: ncps.torch.CfC(features, 64, proj_size=k, batch_first=True), train, test, classes, seed, epochs)
    if model == "ncps-cfc-ncp":
        return train_torch(lambda: ncps.torch.CfC(features, AutoNCP(19, k), proj_size=k, batch_first=True),
                           train, test, classes, seed, epochs)
    if model == "ncps-ltc-ncp":
        return train_torch(lambda: ncps.torch.LTC(features, AutoNCP(19, k), batch_first=True), train, test, classes, seed, epochs)
    if model == "lstm":
        ref = sum(p.numel() for p in ncps.torch.CfC(features, 64, proj_size=k).parameters())
        h = lstm_hidden_for(ref, features, k)
        return train_torch(lambda: LSTMClassifier(features, h, k), train, test, classes, seed, epochs)
    if model == "rocket":
        return run_rocket(train, test, seed)
    raise SystemExit(f"unknown classification model {model}")


def run_forecast(name, model, seed, epochs, lfm_epochs, args):
    import ncps.torch
    from ncps.wirings import AutoNCP
    spec = FORECAST[name]
    series = read_series(name)
    L, cut = spec["lookback"], len(series) - spec["test"]
    train_part, test_part = series[:cut], series[cut - L:]      # the test file carries L steps of context
    if model in ("naive", "theta"):
        return run_sktime_forecaster(model, series, spec)
    if model.startswith("lfm-"):
        with tempfile.TemporaryDirectory() as d:
            tr_csv, te_csv = os.path.join(d, "train.csv"), os.path.join(d, "test.csv")
            np.savetxt(tr_csv, train_part.reshape(-1, 1), fmt="%.9g")
            np.savetxt(te_csv, test_part.reshape(-1, 1), fmt="%.9g")
            task = ["--task", "forecast", "--lookback", str(L), "--horizon", "1"]
            cell = {"lfm-cfc": ["--cell", "cfc", "--units", "64"], "lfm-cfc-ncp": ["--cell", "cfc", "--units", "19", "--wiring", "auto:1"],
                    "lfm-ltc-ncp": ["--cell", "ltc", "--units", "19", "--wiring", "auto:1"]}[model]
            return run_lfm(args, tr_csv, te_csv, seed, lfm_epochs, cell + task)
    train, test = windows(train_part, L), windows(test_part, L)
    if model == "ncps-cfc":
        return train_torch(lambda: ncps.torch.CfC(1, 64, proj_size=1, batch_first=True), train, test, None, seed, epochs)
    if model == "ncps-cfc-ncp":
        return train_torch(lambda: ncps.torch.CfC(1, AutoNCP(19, 1), proj_size=1, batch_first=True), train, test, None, seed, epochs)
    if model == "ncps-ltc-ncp":
        return train_torch(lambda: ncps.torch.LTC(1, AutoNCP(19, 1), batch_first=True), train, test, None, seed, epochs)
    if model == "lstm":
        ref = sum(p.numel() for p in ncps.torch.CfC(1, 64, proj_size=1).parameters())
        h = lstm_hidden_for(ref, 1, 1)
        return train_torch(lambda: LSTMClassifier(1, h, 1), train, test, None, seed, epochs)
    raise SystemExit(f"unknown forecasting model {model}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", default="BasicMotions,JapaneseVowels,ItalyPowerDemand,Airline")
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--models", help=f"default: {CLASSIFIERS} (classification), {FORECASTERS} (forecasting)")
    ap.add_argument("--epochs", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--tiny", action="store_true")
    ap.add_argument("--out", help="also write the Markdown table here")
    ap.add_argument("--jsonl", help="also append every row (one per dataset, model and seed) here")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    seeds = [int(s) for s in args.seeds.split(",")][: 1 if args.tiny else None]
    epochs = 2 if args.tiny else (args.epochs or DEFAULTS["epochs"])
    lfm_epochs = epochs if (args.tiny or args.epochs) else 0
    rows = []
    plan = []
    for name in args.datasets.split(","):
        forecasting = name in FORECAST
        models = (args.models or (FORECASTERS if forecasting else CLASSIFIERS)).split(",")
        for model in models:
            if forecasting and model == "rocket" or not forecasting and model in ("naive", "theta"):
                continue
            plan.append((name, model, forecasting))
    for name, model, forecasting in plan:
        deterministic = model in ("naive", "theta")
        for seed in (seeds[:1] if deterministic else seeds):
            run = run_forecast if forecasting else run_classification
            metric, sec, n = run(name, model, seed, epochs, lfm_epochs, args)
            row = {"dataset": name, "model": model, "seed": seed, ("mse" if forecasting else "accuracy"): metric,
                   "train_seconds": sec, "parameters": n}
            print(json.dumps(row), flush=True)
            rows.append(row)
            if args.jsonl:
                with open(args.jsonl, "a") as f:
                    f.write(json.dumps(row) + "\n")
    lines = ["| dataset | model | seeds | accuracy or MSE (mean ± sd) | per seed | parameters | train s (mean) |",
             "|---|---|---|---|---|---|---|"]
    for name, model, forecasting in plan:
        rs = [r for r in rows if r["dataset"] == name and r["model"] == model]
        if not rs:
            continue
        key = "mse" if forecasting else "accuracy"
        vals = np.array([r[key] for r in rs])
        fmt = (lambda v: f"{v:.1f}") if forecasting and vals.mean() > 10 else (lambda v: f"{v:.4g}") if forecasting else (lambda v: f"{v:.3f}")
        lines.append(f"| {name} | {model} | {len(rs)} | {key} {fmt(vals.mean())} ± {fmt(vals.std())} | "
                     f"{' '.join(fmt(v) for v in vals)} | {rs[0]['parameters'] or '–'} | "
                     f"{np.mean([r['train_seconds'] for r in rs]):.1f} |")
    table = "\n".join(lines)
    print(table)
    if args.out:
        with open(args.out, "w") as f:
            f.write(table + "\n")


if __name__ == "__main__":
    main()
