"""Checks that a model folder written by `lfm liquid train` loads in ncps 1.0.1 and gives the
outputs `lfm liquid predict` prints.

    python Scripts/reference/liquid/check_folder_in_ncps.py MODEL_DIR INPUT.csv LFM_PREDICT.json
(INPUT.csv: rows = steps, columns = features; LFM_PREDICT.json: the output of
`lfm liquid predict --model MODEL_DIR --input INPUT.csv --json`.) Exits non-zero on a mismatch.
"""
import json
import sys

import numpy as np
import torch

from ncps_folder import load_folder

model, config = load_folder(sys.argv[1])
model.eval()
x = np.loadtxt(sys.argv[2], delimiter=",", dtype=np.float32, ndmin=2)
norm = config.get("lfm", {}).get("normalization", {})
if norm.get("mean"):
    x = (x - np.array(norm["mean"], dtype=np.float32)) / np.array(norm["std"], dtype=np.float32)
with torch.no_grad():
    out, _ = model(torch.from_numpy(x).unsqueeze(0))
ours = np.array(json.load(open(sys.argv[3]))["outputs"], dtype=np.float32)
diff = float(np.abs(out[0].numpy() - ours).max())
print(json.dumps({"max_abs_diff": diff, "steps": int(x.shape[0])}))
sys.exit(0 if diff < 1e-4 else 1)
