"""`modelqa check` against Evidently 0.7.23's DataDriftPreset, both as whole processes.

    .venv/bin/python bench/check_drift.py                       # 100,000 x 50, both tools
    .venv/bin/python bench/check_drift.py --rows 1000000 --only modelqa
    .venv/bin/python bench/check_drift.py --calibration         # noise level, false alarms

Generates a seeded reference / current pair (35 numeric, 15 categorical columns; 7 numeric and
3 categorical shifted), writes them as Parquet under --workdir, then times each tool as its own
process under /usr/bin/time -v (wall seconds, peak RSS) and prints which columns each found,
the report size and the ratio. Evidently runs from its own virtual environment (it needs
pandas < 3, never the project's): create it once with

    python3 -m venv /tmp/evidently-venv
    /tmp/evidently-venv/bin/pip install "evidently==0.7.23" "pandas<3" pyarrow

Note the machine's load (printed from /proc/loadavg) with the figures: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

N_NUMERIC, N_CATEGORICAL = 35, 15
SHIFTED = [f"num{i:02d}" for i in range(7)] + [f"cat{i:02d}" for i in range(3)]

EVIDENTLY = textwrap.dedent("""
    import json, sys, time
    t0 = time.perf_counter()
    import pandas as pd
    from evidently import Report
    from evidently.presets import DataDriftPreset
    ref = pd.read_parquet(sys.argv[1]); cur = pd.read_parquet(sys.argv[2])
    t1 = time.perf_counter()
    snapshot = Report([DataDriftPreset()]).run(cur, ref)
    t2 = time.perf_counter()
    snapshot.save_html(sys.argv[3])
    drifted = []
    for m in snapshot.dict()["metrics"]:
        cfg = m.get("config", {})
        if cfg.get("type", "").endswith("ValueDrift"):
            p_like = "p_value" in cfg["method"]
            if (m["value"] < cfg["threshold"]) if p_like else (m["value"] >= cfg["threshold"]):
                drifted.append(cfg["column"])
    print(json.dumps({"drifted": sorted(drifted), "run_s": t2 - t1, "read_s": t1 - t0}))
""")


def make_frames(n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Numeric columns of several shapes, categorical ones of 3-30 categories; the SHIFTED ones
    move by half a standard deviation (numbers) or move a quarter of the rows to the rarest
    category."""
    rng = np.random.default_rng(seed)
    ref, cur = {}, {}
    for i in range(N_NUMERIC):
        name = f"num{i:02d}"
        shift = 0.5 if name in SHIFTED else 0.0
        shape = i % 4
        if shape == 0:
            draw = lambda s, k: rng.normal(s, 1.0, k)                      # noqa: E731
        elif shape == 1:
            draw = lambda s, k: np.exp(rng.normal(s * 0.5, 0.5, k))        # noqa: E731
        elif shape == 2:
            draw = lambda s, k: rng.uniform(0 + s * 0.3, 1 + s * 0.3, k)   # noqa: E731
        else:
            draw = lambda s, k: rng.poisson(20 + s * 4.5, k).astype(float)  # noqa: E731
        ref[name], cur[name] = draw(0.0, n), draw(shift, n)
    for i in range(N_CATEGORICAL):
        name = f"cat{i:02d}"
        k = 3 + (i * 2) % 28
        cats = np.array([f"c{j}" for j in range(k)], dtype=object)
        p = rng.dirichlet(np.full(k, 2.0))
        q = p.copy()
        if name in SHIFTED:
            q = 0.75 * p + 0.25 * np.eye(k)[np.argmin(p)]     # a quarter of the rows to the rarest
        ref[name], cur[name] = rng.choice(cats, n, p=p), rng.choice(cats, n, p=q / q.sum())
    return pd.DataFrame(ref), pd.DataFrame(cur)


def timed(cmd: list[str], env: dict | None = None) -> tuple[float, float, str, int]:
    """(wall s, peak RSS MB, stdout, exit code) of one process under /usr/bin/time -v."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        proc = subprocess.run(["/usr/bin/time", "-v", "-o", tf.name, *cmd], capture_output=True, text=True, env=env)
        report = Path(tf.name).read_text()
    wall = re.search(r"Elapsed \(wall clock\) time .*: (?:(\d+):)?(\d+):([\d.]+)", report)
    h, m, s = wall.groups()
    seconds = int(h or 0) * 3600 + int(m) * 60 + float(s)
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", report).group(1)) / 1024
    if proc.returncode not in (0, 1):
        print(proc.stdout[-2000:], proc.stderr[-4000:], file=sys.stderr)
    return seconds, rss, proc.stdout, proc.returncode


def run_modelqa(work: Path) -> dict:
    out = work / "modelqa-run"
    modelqa = Path(sys.executable).with_name("modelqa")
    wall, rss, _, code = timed([str(modelqa), "check", "--reference", str(work / "ref.parquet"),
                                "--current", str(work / "cur.parquet"), "--out", str(out), "--quiet",
                                "--format", "json"])
    doc = json.loads((out / "check.json").read_text())
    results = doc["results"]
    drifted = sorted(r["target"] for r in results if r["check"] == "drift.column" and r["status"] == "fail")
    other = sorted(f'{r["check"]}[{r["target"]}]' for r in results
                   if r["check"] != "drift.column" and r["status"] in ("fail", "error"))
    seconds = {}
    for r in results:
        seconds[r["check"]] = seconds.get(r["check"], 0.0) + doc["timing"]["checks_s"].get(r["id"], 0.0)
    report = out / "report.html"
    return {"wall_s": wall, "peak_mb": rss, "exit": code, "drifted": drifted, "other_failures": other,
            "report_mb": report.stat().st_size / 1e6 if report.exists() else None,
            "check_seconds": {k: round(v, 3) for k, v in sorted(seconds.items(), key=lambda kv: -kv[1])[:8]},
            "total_s_inside": doc["timing"].get("total_s")}


def run_evidently(work: Path, python: str) -> dict:
    script = work / "evidently_run.py"
    script.write_text(EVIDENTLY)
    html = work / "evidently.html"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    wall, rss, stdout, code = timed([python, str(script), str(work / "ref.parquet"), str(work / "cur.parquet"),
                                     str(html)], env=env)
    found = json.loads(stdout.strip().splitlines()[-1]) if code == 0 else {}
    return {"wall_s": wall, "peak_mb": rss, "exit": code, "drifted": found.get("drifted"),
            "report_run_s": found.get("run_s"), "report_mb": html.stat().st_size / 1e6 if html.exists() else None}


def calibration(seed: int) -> None:
    """The effect's noise level on identical distributions, and the share of unshifted columns
    that fail / have p < 0.05 through the real check and verdict (docs/checks/drift.md)."""
    from modelqa.analysis import drift_stats as ds
    from modelqa.analysis.checks.registry import ensure_loaded

    ensure_loaded()
    rng = np.random.default_rng(seed)
    shares = [0.3, 0.2, 0.2, 0.1, 0.1, 0.1]
    print("rows  wasserstein_norm mean / p95   jensenshannon mean / p95")
    for n in (100, 200, 500, 1000, 5000):
        w, j = [], []
        for _ in range(300):
            a, b = np.sort(rng.normal(size=n)), np.sort(rng.normal(size=n))
            w.append(ds.wasserstein_sorted(a, b) / a.std())
            j.append(ds.jensenshannon(np.bincount(rng.choice(6, n, p=shares), minlength=6),
                                      np.bincount(rng.choice(6, n, p=shares), minlength=6)))
        print(f"{n:>5}  {np.mean(w):.3f} / {np.quantile(w, 0.95):.3f}"
              f"                   {np.mean(j):.3f} / {np.quantile(j, 0.95):.3f}")
    for floor in (True, False):
        false_alarms(seed, floor=floor)


def false_alarms(seed: int, *, floor: bool) -> None:
    """Unshifted columns through drift.column and the verdict: how many fail / warn."""
    from modelqa.analysis.checks.context import CheckContext, Side
    from modelqa.analysis.checks.registry import REGISTRY, config_for
    from modelqa.analysis.checks.verdict import decide

    spec = REGISTRY["drift.column"]
    fails = warns = significant = total = 0
    cats = np.array(["a", "b", "c", "d"])
    for s in range(60):
        n = 200 if s % 2 else 2000
        r = np.random.default_rng([seed, s])
        ref = {f"num{i}": r.normal(size=n) for i in range(4)}
        cur = {f"num{i}": r.normal(size=n) for i in range(4)}
        for i in range(3):
            ref[f"cat{i}"] = r.choice(cats, n, p=[0.4, 0.3, 0.2, 0.1])
            cur[f"cat{i}"] = r.choice(cats, n, p=[0.4, 0.3, 0.2, 0.1])
        kinds = {c: "numeric" if c.startswith("num") else "categorical" for c in ref}
        ctx = CheckContext(current=Side("current", None, pd.DataFrame(cur)),
                           reference=Side("reference", None, pd.DataFrame(ref)),
                           feature_cols=tuple(ref), column_kinds=kinds, seed=s)
        res = decide(spec.run(ctx, config_for(spec, {"noise_floor": floor})))
        fails += sum(x.status == "fail" for x in res)
        warns += sum(x.status == "warn" for x in res)
        significant += sum(x.p_value < 0.05 for x in res)
        total += len(res)
    print(f"noise_floor={floor}: unshifted columns failing {fails} of {total} ({fails / total:.1%}), "
          f"warning {warns} ({warns / total:.1%}); p < 0.05: {significant} ({significant / total:.1%})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "modelqa-bench-drift")
    ap.add_argument("--only", choices=("modelqa", "evidently"), default=None)
    ap.add_argument("--evidently-python", default="/tmp/evidently-venv/bin/python")
    ap.add_argument("--calibration", action="store_true", help="noise level and false-alarm rate only")
    args = ap.parse_args()
    if args.calibration:
        calibration(args.seed)
        return
    work = args.workdir / f"rows{args.rows}-seed{args.seed}"
    work.mkdir(parents=True, exist_ok=True)
    if not (work / "cur.parquet").exists():
        ref, cur = make_frames(args.rows, args.seed)
        ref.to_parquet(work / "ref.parquet", index=False)
        cur.to_parquet(work / "cur.parquet", index=False)
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"{args.rows:,} rows x {N_NUMERIC + N_CATEGORICAL} columns, shifted: {', '.join(SHIFTED)}")
    print(f"load average before: {' '.join(load)} on {os.cpu_count()} cores")
    rows = {}
    if args.only in (None, "modelqa"):
        rows["modelqa"] = run_modelqa(work)
    if args.only in (None, "evidently"):
        rows["evidently"] = run_evidently(work, args.evidently_python)
    for tool, r in rows.items():
        found = r["drifted"] or []
        print(f"\n{tool}: {r['wall_s']:.2f} s wall, {r['peak_mb']:.0f} MB peak RSS, exit {r['exit']}, "
              f"report {r['report_mb'] or 0:.2f} MB")
        print(f"  drifted ({len(found)}): {', '.join(found)}")
        print(f"  missed: {sorted(set(SHIFTED) - set(found))}  extra: {sorted(set(found) - set(SHIFTED))}")
        for key in ("report_run_s", "total_s_inside", "check_seconds", "other_failures"):
            if r.get(key) is not None:
                print(f"  {key}: {r[key]}")
    if len(rows) == 2:
        print(f"\nspeed-up (Evidently wall / modelqa wall): "
              f"{rows['evidently']['wall_s'] / rows['modelqa']['wall_s']:.2f}x; "
              f"memory: {rows['modelqa']['peak_mb']:.0f} MB vs {rows['evidently']['peak_mb']:.0f} MB")
    print(f"load average after: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    (work / "bench.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
