#!/usr/bin/python3
"""Plots of the issue 16 benchmarks, from the JSON they write into bench/results/.

  agentic_gpu_*.json (bench A, agentic_gpu_bench)  -> agentic_jct_<name>.png: job completion
      time against load, one line per setup, mean and p90 panels.
  workflow_kv*.json (bench B, workflow_kv_bench)   -> workflow_ttft_<name>.png: TTFT per
      workflow step, one bar per setup, a panel per workload.
  kv_restore_*.json (bench C, kv_restore_bench)    -> kv_restore_<name>.png: time to first
      token of recompute, device hit and each restore (medians over the repeats), and
      kv_restore_ratios.png: every file's restore / recompute side by side.

A missing or unreadable file, or a key an older format lacks, is skipped with a note on
stderr; the script writes what it can and exits 0.

  /usr/bin/python3 bench/plot_agentic.py [--results bench/results] [--out bench/results/plots]
"""
import argparse
import glob
import json
import os
import statistics
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def note(msg):
    print(f"plot_agentic: {msg}", file=sys.stderr)


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        note(f"{path}: skipped ({e})")
        return None


def stem(path, prefix):
    name = os.path.splitext(os.path.basename(path))[0]
    return name[len(prefix):] if name.startswith(prefix) else name


def save(fig, out_dir, name):
    path = os.path.join(out_dir, name)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    print(path)


# --- bench A: JCT against load --------------------------------------------------------


def plot_agentic(path, doc, out_dir):
    by_setup = {}
    for p in doc.get("points", []):
        try:
            by_setup.setdefault(p["setup"], []).append(
                (float(p["load"]), float(p["mean_jct_s"]), float(p["p90_jct_s"])))
        except (KeyError, TypeError, ValueError):
            note(f"{path}: a point without setup/load/mean_jct_s/p90_jct_s, skipped")
    if not by_setup:
        note(f"{path}: no points")
        return
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharex=True)
    for setup, pts in sorted(by_setup.items()):
        pts.sort()
        loads = [x[0] for x in pts]
        axes[0].plot(loads, [x[1] for x in pts], marker="o", label=setup)
        axes[1].plot(loads, [x[2] for x in pts], marker="o", label=setup)
    for ax, what in zip(axes, ("mean", "p90")):
        ax.set_xlabel("load (offered rate / measured capacity)")
        ax.set_ylabel(f"{what} job completion time (s)")
        ax.set_title(f"{what} JCT")
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=8)
    cap = doc.get("capacity_jobs_per_s")
    title = " / ".join(str(doc[k]) for k in ("workload", "shape", "device") if doc.get(k))
    if cap is not None:
        title += f" (capacity {cap:.3g} jobs/s)"
    fig.suptitle(title)
    save(fig, out_dir, f"agentic_jct_{stem(path, 'agentic_gpu_')}.png")


# --- bench B: TTFT per workflow step ---------------------------------------------------


def plot_workflow(path, doc, out_dir):
    workloads = [w for w in doc.get("workloads", []) if w.get("setups")]
    if not workloads:
        note(f"{path}: no workloads with setups")
        return
    fig, axes = plt.subplots(1, len(workloads), figsize=(6.5 * len(workloads), 4.2), squeeze=False)
    for ax, w in zip(axes[0], workloads):
        setups = w["setups"]
        steps = []
        for s in setups:
            for st in s.get("steps", []):
                if st.get("step") not in steps:
                    steps.append(st.get("step"))
        width = 0.8 / max(len(setups), 1)
        for i, s in enumerate(setups):
            ttft = {st.get("step"): st for st in s.get("steps", [])}
            xs = [j + i * width for j in range(len(steps))]
            mean = [ttft.get(k, {}).get("mean_ttft_ms", 0.0) for k in steps]
            p90 = [ttft.get(k, {}).get("p90_ttft_ms", 0.0) for k in steps]
            ax.bar(xs, mean, width, label=s.get("setup", "?"))
            ax.scatter(xs, p90, marker="_", color="black", s=60, zorder=3)
        ax.set_xticks([j + width * (len(setups) - 1) / 2 for j in range(len(steps))])
        ax.set_xticklabels([str(k) for k in steps], rotation=30, ha="right", fontsize=8)
        ax.set_ylabel("TTFT (ms): bar mean, tick p90")
        ax.set_title(str(w.get("workload", "?")))
        ax.grid(True, axis="y", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(" / ".join(str(doc[k]) for k in ("shape", "device") if doc.get(k)))
    save(fig, out_dir, f"workflow_ttft_{stem(path, 'workflow_kv')}.png".replace("__", "_"))


# --- bench C: restore against recompute ------------------------------------------------

# Case key in a repeat -> label. Older CPU files have only recompute and the store cases.
RESTORE_CASES = [
    ("recompute", "recompute"),
    ("device_hit", "device hit"),
    ("restore_host", "host tier"),
    ("restore_warm", "store (cache warm)"),
    ("restore_cold", "store (cache evicted)"),
]


def restore_medians(doc):
    """Median TTFT (s) per case present in every repeat, in RESTORE_CASES order."""
    out = []
    repeats = doc.get("repeats") or []
    for key, label in RESTORE_CASES:
        vals = [r[key]["ttft_s"] for r in repeats if isinstance(r.get(key), dict)
                and "ttft_s" in r[key]]
        if vals:
            out.append((key, label, statistics.median(vals)))
    return out


def restore_title(doc):
    model = str(doc.get("model", "?"))
    model = os.path.basename(model.rstrip("/")) if "/" in model else model
    parts = [model.removeprefix("agentrt-bench-"), f"{doc.get('tokens', '?')} tokens"]
    if doc.get("tail_tokens"):
        parts.append(f"+{doc['tail_tokens']} new")
    parts.append(str(doc.get("device") or doc.get("backend") or "cpu"))
    return ", ".join(parts)


def plot_restore(path, doc, out_dir):
    cases = restore_medians(doc)
    if not cases:
        note(f"{path}: no repeats with ttft_s")
        return None
    recompute = dict((k, v) for k, _, v in cases).get("recompute")
    fig, ax = plt.subplots(figsize=(7, 4))
    bars = ax.bar([c[1] for c in cases], [c[2] for c in cases],
                  color=["tab:red" if c[0] == "recompute" else "tab:blue" for c in cases])
    for b, c in zip(bars, cases):
        if recompute:
            ax.annotate(f"{c[2] / recompute:.3f}x", (b.get_x() + b.get_width() / 2, b.get_height()),
                        ha="center", va="bottom", fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("time to first token (s), median; label: / recompute")
    ax.set_title(restore_title(doc), fontsize=10)
    ax.tick_params(axis="x", labelsize=8, rotation=15)
    ax.grid(True, axis="y", alpha=0.3)
    save(fig, out_dir, f"kv_restore_{stem(path, 'kv_restore_')}.png")
    return [(label, v / recompute) for key, label, v in cases if recompute and key != "recompute"]


def plot_restore_ratios(ratios, out_dir):
    """ratios: [(file title, [(case label, ratio)])]."""
    if not ratios:
        return
    labels = [label for _, label in RESTORE_CASES[1:]]
    width = 0.8 / len(ratios)
    fig, ax = plt.subplots(figsize=(max(7, 1.6 * len(labels) + 0.4 * len(ratios)), 4.5))
    for i, (title, pairs) in enumerate(ratios):
        got = dict(pairs)
        xs = [j + i * width for j, lab in enumerate(labels) if lab in got]
        ax.bar(xs, [got[lab] for lab in labels if lab in got], width, label=title)
    ax.set_xticks([j + width * (len(ratios) - 1) / 2 for j in range(len(labels))])
    ax.set_xticklabels(labels, fontsize=8)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_yscale("log")
    ax.set_ylabel("TTFT / recompute TTFT (median)")
    ax.set_title("KV restore against recompute")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=7)
    save(fig, out_dir, "kv_restore_ratios.png")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--results", default=os.path.join(here, "results"))
    ap.add_argument("--out", default=None, help="default: RESULTS/plots")
    a = ap.parse_args()
    out_dir = a.out or os.path.join(a.results, "plots")
    os.makedirs(out_dir, exist_ok=True)

    found = {"agentic_gpu_*.json": plot_agentic, "workflow_kv*.json": plot_workflow}
    for pattern, fn in found.items():
        paths = sorted(glob.glob(os.path.join(a.results, pattern)))
        if not paths:
            note(f"no {pattern} in {a.results}")
        for p in paths:
            doc = load(p)
            if isinstance(doc, dict):
                fn(p, doc, out_dir)

    ratios = []
    paths = sorted(glob.glob(os.path.join(a.results, "kv_restore_*.json")))
    if not paths:
        note(f"no kv_restore_*.json in {a.results}")
    for p in paths:
        doc = load(p)
        if isinstance(doc, dict):
            r = plot_restore(p, doc, out_dir)
            if r:
                ratios.append((restore_title(doc), r))
    plot_restore_ratios(ratios, out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
