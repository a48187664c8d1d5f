"""The lag benchmark's closing report: one table of every row, then the headline ratios."""

from __future__ import annotations

from typing import Any

__all__ = ["print_table"]


def print_table(rows: list[dict[str, Any]], settle: float) -> None:
    """Print the rows as a table; ``settle`` is how long the idle run waited for RSS to settle."""
    print(
        f"\n{'who':28} {'N':>6} {'created':>8} {'missing':>8} {'p50 s':>7} {'p99 s':>7} "
        f"{'max s':>7} {'CPU s':>6} {'RSS MB':>7}"
    )
    for row in rows:
        if "p50" in row:
            print(
                f"{row['who']:28} {row['n']:>6} {row['created']:>8} {row['missing']:>8} "
                f"{row['p50']:7.2f} {row['p99']:7.2f} {row['max']:7.2f} "
                f"{row.get('cpu_s', float('nan')):6.1f} {row.get('rss_mb', float('nan')):7.0f}"
            )
    for row in rows:
        if "rate" in row:
            print(f"{row['who']} N={row['n']}: {row['seconds']:.2f} s ({row['rate']:.0f} Jobs/s)")
        if "startup_s" in row:
            print(
                f"{row['who']}: start-up {row['startup_s']:.1f} s, RSS {row['rss_mb']:.0f} MB "
                f"at the end of the first pass, {row['rss_settled_mb']:.0f} MB {settle:.0f} s later"
            )
    by_n: dict[int, dict[str, dict[str, Any]]] = {}
    for row in rows:
        if "n" in row:
            by_n.setdefault(row["n"], {})[row["who"]] = row
    for n, group in by_n.items():
        cron, alm, raw = (
            group.get("CronJob (default)"),
            group.get("Almanac (default)"),
            group.get("tight client (ceiling)"),
        )
        if cron and alm:
            print(f"N={n}: CronJob p99 / Almanac p99 = {cron['p99'] / alm['p99']:.1f}x")
        tuned = group.get("CronJob (tuned)")
        if tuned and alm:
            print(f"N={n}: tuned CronJob p99 / Almanac p99 = {tuned['p99'] / alm['p99']:.1f}x")
        if raw and alm:
            print(f"N={n}: Almanac p99 / ceiling time = {alm['p99'] / raw['seconds']:.2f}x")
        shaped = group.get("tight client, Almanac's Jobs")
        if shaped and alm:
            print(
                f"N={n}: Almanac p99 / same-Jobs ceiling time = "
                f"{alm['p99'] / shaped['seconds']:.2f}x"
            )
