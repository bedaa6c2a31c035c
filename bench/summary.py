"""One table of every benchmark figure, each beside the baseline measured in the same run, from
the results the other benchmarks wrote under ``bench/results/``. Run last by ``make bench``;
writes ``bench/results/summary.json``.

    .venv/bin/python bench/summary.py
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def _load(name: str) -> Any:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def rows() -> list[dict[str, str]]:
    table: list[dict[str, str]] = []

    def add(area: str, what: str, ours: str, baseline: str, versus: str) -> None:
        table.append(
            {"area": area, "measure": what, "ours": ours, "baseline": baseline, "versus": versus}
        )

    for r in _load("intake") or []:
        i, b = r["intake"], r["baseline"]
        add(
            "intake",
            f"POST /api/v1/requests/, {i['requests']:,} req, 16 clients ({r['setup']})",
            f"{i['rps']:,.0f} req/s, p50 {i['p50_ms']:.1f} ms, p99 {i['p99_ms']:.1f} ms",
            f"trivial view: {b['rps']:,.0f} req/s, p50 {b['p50_ms']:.1f} ms, p99 {b['p99_ms']:.1f} ms",
            f"{i['rps'] / b['rps']:.2f}x the ceiling",
        )
    for r in _load("end_to_end") or []:
        base = r["subjects"]["nobody@example.com"]["seconds"]
        for email, s in r["subjects"].items():
            if email == "nobody@example.com":
                continue
            add(
                "end to end",
                f"verification → download email, {email} ({r['setup']}, {r['workers']} worker(s))",
                f"{s['seconds']:.2f} s (gather {s['gathering']:.2f}, exports {s['exports']:.2f})",
                f"no data: {base:.2f} s",
                f"{s['seconds'] - base:+.2f} s",
            )
    for r in _load("record_viewer") or []:
        add(
            "record viewer",
            f"page {r['page']} of {r['records']:,} support tickets, {r['suggestions']} suggestions",
            f"{r['ms']:.0f} ms",
            f"reading the page alone: {r['baseline_ms']:.0f} ms",
            f"+{r['ms'] - r['baseline_ms']:.0f} ms",
        )
    for r in _load("gather") or []:
        ours, base = r["ours"], r["baseline"]
        add(
            "gather",
            f"one store step, {r['rows']:,} rows ({r['database']})",
            f"{ours['rows'] / ours['seconds']:,.0f} rows/s, {ours['peak_mb']:.0f} MB",
            f"driver fetchall: {base['rows'] / base['seconds']:,.0f} rows/s, {base['peak_mb']:.0f} MB",
            f"{r['ratio']:.2f}x",
        )
    for r in _load("erase") or []:
        ours, base = r["ours"], r["baseline"]
        add(
            "erase",
            f"one store step, {r['rows']:,} rows ({r['database']}): plan, erase, re-scan",
            f"{ours['seconds']:.2f} s",
            f"two plain DELETEs: {base['seconds']:.2f} s",
            f"{r['ratio']:.1f}x",
        )
    exports = _load("exports") or []
    naive = {r["rows"]: r for r in exports if r["renderer"] == "naive pdf"}
    for r in exports:
        if r["renderer"] == "naive pdf":
            continue
        base = naive.get(r["rows"])
        add(
            "exports",
            f"{r['renderer'].upper()} export, {r['rows']:,} rows",
            f"{r['seconds']:.2f} s, {r['peak_mb']:.0f} MB",
            f"naive PDF: {base['seconds']:.2f} s, {base['peak_mb']:.0f} MB" if base else "—",
            r.get("versus_naive") or "streamed",
        )
    for r in _load("dashboard") or []:
        add(
            "dashboard",
            f"queue: {r['page']}, {r['requests']:,} requests",
            f"{r['ms']:.1f} ms, {r['queries']} queries",
            f"50 requests: {r['baseline_ms']:.1f} ms, {r['baseline_queries']} queries",
            f"{r['ms'] / r['baseline_ms']:.2f}x",
        )
    return table


def main() -> None:
    table = rows()
    widths = {k: max(len(k), *(len(r[k]) for r in table)) for k in table[0]} if table else {}
    print("Every figure beside its baseline (make bench; details in docs/performance.md)")
    print("  ".join(k.ljust(w) for k, w in widths.items()))
    for r in table:
        print("  ".join(r[k].ljust(w) for k, w in widths.items()))
    (RESULTS / "summary.json").write_text(json.dumps(table, indent=2, ensure_ascii=False))
    print(f"written to bench/results/summary.json ({len(table)} rows)")


if __name__ == "__main__":
    main()
