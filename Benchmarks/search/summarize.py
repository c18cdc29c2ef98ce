#!/usr/bin/env python3
"""Markdown tables of an `lfm search` directory (Benchmarks/search/README.md is made from them).

    python3 Benchmarks/search/summarize.py runs/search/run

Prints: the search settings, the Pareto front (on perplexity, cache bytes/token and decode
latency, as `lfm search show` computes it), the references, per-generation progress, the classes
used, and the STAR question: is there a found architecture at least as good as the best reference
in perplexity with a smaller cache or a lower latency? Standard library only.
"""
import json
import pathlib
import statistics
import sys

OBJECTIVES = ("perplexity", "cache_bytes_per_token", "decode_ms_per_token")


def records(path):
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def dominates(a, b):
    if any(a[k] is None for k in OBJECTIVES):
        return False
    if any(b[k] is None for k in OBJECTIVES):
        return True
    return all(a[k] <= b[k] for k in OBJECTIVES) and any(a[k] < b[k] for k in OBJECTIVES)


def row(r, label):
    ppl = "—" if r["perplexity"] is None else f"{r['perplexity']:.1f}"
    lat = "—" if r["decode_ms_per_token"] is None else f"{r['decode_ms_per_token']:.3f}"
    return (f"| {label} | {ppl} | {r['parameters'] / 1e6:.2f} M | {r['cache_bytes_per_token']:.1f} | {lat} | "
            f"{r['train_seconds']:.0f} s | `{r['genome']}` |")


HEADER = ("| candidate | perplexity | parameters | cache B/token @2048 | decode ms/token | training | genome |\n"
          "|---|---|---|---|---|---|---|")


def main():
    run = pathlib.Path(sys.argv[1])
    settings = json.loads((run / "search.json").read_text())
    cands = records(run / "candidates.jsonl")
    refs = records(run / "references.jsonl")
    print(f"Settings: seed {settings['seed']}, population {settings['population']}, objectives "
          f"{', '.join(settings['objectives'])}, training {json.dumps(settings.get('training'))}, "
          f"latency probe {json.dumps(settings.get('latency'))}.\n")
    total = sum(r["train_seconds"] for r in cands)
    print(f"{len(cands)} candidates, {total / 60:.1f} min of training in all; "
          f"{len(refs)} references, {sum(r['train_seconds'] for r in refs) / 60:.1f} min.\n")

    front = [i for i, r in enumerate(cands) if not any(dominates(o, r) for j, o in enumerate(cands) if j != i)]
    print("Pareto front (sorted by perplexity):\n")
    print(HEADER)
    for i in sorted(front, key=lambda i: cands[i]["perplexity"] or float("inf")):
        print(row(cands[i], f"{i} (gen {cands[i]['generation']})"))
    print("\nReferences (same training budget):\n")
    print(HEADER)
    for r in refs:
        print(row(r, r.get("name") or "reference"))

    print("\nBy generation:\n\n| generation | candidates | best perplexity | median perplexity | median decode ms | median cache B/token |\n|---|---|---|---|---|---|")
    for g in sorted({r["generation"] for r in cands}):
        group = [r for r in cands if r["generation"] == g and r["perplexity"] is not None]
        if not group:
            continue
        print(f"| {g} | {len(group)} | {min(r['perplexity'] for r in group):.1f} | "
              f"{statistics.median(r['perplexity'] for r in group):.1f} | "
              f"{statistics.median(r['decode_ms_per_token'] for r in group):.3f} | "
              f"{statistics.median(r['cache_bytes_per_token'] for r in group):.1f} |")

    letters = "CASR"
    def mix(rs):
        counts = {c: 0 for c in letters}
        for r in rs:
            for token in r["genome"].split()[1:]:
                counts[token[0]] += 1
        n = sum(counts.values()) or 1
        return ", ".join(f"{c} {100 * counts[c] / n:.0f} %" for c in letters)
    print(f"\nLayer classes, all candidates: {mix(cands)}; the front: {mix([cands[i] for i in front])}.\n")

    if refs:
        best = min((r for r in refs if r["perplexity"] is not None), key=lambda r: r["perplexity"])
        print(f"Best reference: {best.get('name')} (perplexity {best['perplexity']:.1f}, cache "
              f"{best['cache_bytes_per_token']:.1f} B/token, decode {best['decode_ms_per_token']:.3f} ms).\n")
        winners = [(i, r) for i, r in enumerate(cands) if r["perplexity"] is not None
                   and r["perplexity"] <= best["perplexity"]
                   and (r["cache_bytes_per_token"] < best["cache_bytes_per_token"]
                        or r["decode_ms_per_token"] < best["decode_ms_per_token"])]
        if winners:
            print("Found architectures at least as good in perplexity with a smaller cache or a lower latency:\n")
            print(HEADER)
            for i, r in winners:
                print(row(r, str(i)))
        else:
            print("No found architecture is at least as good as the best reference in perplexity with a smaller "
                  "cache or a lower latency.")


if __name__ == "__main__":
    main()
