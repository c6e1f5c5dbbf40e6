"""Run the benchmarks and write docs/performance.md (`make bench`)."""

from __future__ import annotations

import os
import platform
import sys
import tempfile
from pathlib import Path

from bench import dispatch, ingest

N_INGEST = int(os.environ.get("PARKHUB_BENCH_RECORDS", "200000"))


def main() -> None:
    results: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        small = ingest.run(f"sqlite:///{tmp}/small.db", N_INGEST // 4)
        big = ingest.run(f"sqlite:///{tmp}/big.db", N_INGEST)
        results.append(
            (
                "ingest, SQLite",
                f"{big['per_second']:,.0f} records/s",
                f"{big['records']:,} readings with {big['outbox_rows']:,} outbox rows; "
                f"RSS growth {small['rss_growth_mb']:.0f} MB at {small['records']:,} "
                f"vs {big['rss_growth_mb']:.0f} MB at {big['records']:,}",
            )
        )
        print(results[-1])
        pg = os.environ.get("PARKHUB_BENCH_POSTGRES_URL") or os.environ.get(
            "PARKHUB_TEST_POSTGRES_URL"
        )
        if pg:
            from bench.pg import fresh_schema

            with fresh_schema(pg) as url:
                r = ingest.run(url, N_INGEST)
            results.append(
                (
                    "ingest, PostgreSQL",
                    f"{r['per_second']:,.0f} records/s",
                    f"{r['records']:,} readings with {r['outbox_rows']:,} outbox rows",
                )
            )
            print(results[-1])
        d = dispatch.run(f"sqlite:///{tmp}/dispatch.db")
        results.append(
            (
                "dispatch to provincial sandbox, SQLite",
                f"{d['per_second']:,.0f} deliveries/s",
                f"raw httpx to the same sandbox: {d['raw_per_second']:,.0f} requests/s "
                f"(same 8 threads); ratio {d['ratio']:.0%}",
            )
        )
        print(results[-1])
    write(results)


def write(results: list[tuple[str, str, str]]) -> None:
    path = Path("docs/performance.md")
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    marker = "<!-- bench:results -->"
    table = [
        marker,
        "",
        f"Measured by `make bench` on {platform.machine()}, "
        f"Python {sys.version.split()[0]}, {os.cpu_count()} cores.",
        "",
        "| step | rate | notes |",
        "|---|---|---|",
    ]
    table += [f"| {a} | {b} | {c} |" for a, b, c in results]
    table += ["", marker]
    block = "\n".join(table)
    if text.count(marker) == 2:
        head, _, rest = text.partition(marker)
        _, _, tail = rest.partition(marker)
        text = head + block + tail
    else:
        text = text + "\n" + block + "\n"
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
