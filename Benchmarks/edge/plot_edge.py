#!/usr/bin/env python3
"""Draws decode speed and peak memory against context depth from edge_claim.py's results.jsonl.

    python3 Benchmarks/edge/plot_edge.py results.jsonl edge_claim.png      (matplotlib, any recent version)
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
    fig, (speed, memory) = plt.subplots(1, 2, figsize=(11, 4.2))
    series = sorted({(r["model"], r["engine"]) for r in rows})
    for model, engine in series:
        pts = sorted((r["depth"], r["tg_tokens_per_s"] or 0, r["peak_rss_bytes"] / 2**20) for r in rows
                     if r["model"] == model and r["engine"] == engine)
        style = "-" if engine == "ours" else "--"
        label = "%s (%s)" % (model, engine)
        speed.plot([p[0] for p in pts], [p[1] for p in pts], style, marker="o", label=label)
        memory.plot([p[0] for p in pts], [p[2] for p in pts], style, marker="o", label=label)
    for ax, title, unit in ((speed, "decode speed", "tokens/s"), (memory, "peak memory", "MiB (max RSS)")):
        ax.set_xscale("symlog", linthresh=1024)
        ax.set_xlabel("context depth (tokens)")
        ax.set_ylabel(unit)
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
    speed.legend(fontsize=7)
    first = rows[0] if rows else {}
    kv = ", ".join("%s %s" % (t, e) for e, t in sorted({(r["engine"], r.get("kv_type", "?")) for r in rows}))
    fig.suptitle("%s, %s threads, weights %s, KV: %s" % (first.get("cpu", "?"), first.get("threads", "?"),
                                                        first.get("weights", "?"), kv), fontsize=8)
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=110)


if __name__ == "__main__":
    main()
