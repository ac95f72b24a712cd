#!/usr/bin/env python3
"""``ledger views rebuild`` beside the library's read-and-decode, on one existing store.

The rebuild half of ``scripts/bench`` (issue 12 item 7), without the import, the stock path and
the queries: on a store already imported (``LEDGER_DATABASE_URL`` or ``--url``), it times
``ledger views rebuild --json`` as a child process (start-up included, as ``scripts/bench``
does) and the library's read-and-decode, with ``scripts/bench``'s own functions
``library_read_decode`` (``select_notifications`` pages of 1,000 and ``mapper.to_domain_event``
with the library's ``JSONTranscoder``), back to back, ``--rounds`` times, and prints each pair's
ratio with the load average around it. Nothing imports this script.

    LEDGER_DATABASE_URL='postgresql://postgres@127.0.0.1:5432/test?schema=s' \\
        .venv/bin/python scripts/bench_rebuild.py --rounds 2
"""

from __future__ import annotations

import argparse
import json
import os
import runpy
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The bench's own child runner and library read path (scripts/bench has no .py suffix to import).
_BENCH = runpy.run_path(str(ROOT / "scripts" / "bench"))
run_child = _BENCH["run_child"]
library_read_decode = _BENCH["library_read_decode"]
LEDGER = _BENCH["LEDGER"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("LEDGER_DATABASE_URL"))
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--output", type=Path, default=None, help="JSON results")
    args = parser.parse_args(argv)
    if not args.url:
        parser.error("--url or LEDGER_DATABASE_URL is required")
    env = {**os.environ, "LEDGER_DATABASE_URL": args.url, "LEDGER_LOG_LEVEL": "WARNING"}
    results = []
    for number in range(1, args.rounds + 1):
        load_before = os.getloadavg()
        rebuilt = run_child([LEDGER, "views", "rebuild", "--json"], env)
        decoded = library_read_decode(args.url)
        facts = rebuilt["json"]["facts"]
        rebuild_rate = facts / rebuilt["seconds"]
        result = {
            "round": number,
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
            "ledger_rebuild": {"seconds": rebuilt["seconds"], "facts": facts,
                               "facts_per_second": rebuild_rate,
                               "inner_seconds": rebuilt["json"].get("seconds"),
                               "peak_rss_mb": rebuilt["peak_rss_mb"]},
            "library_read_decode": decoded,
            "ratio": rebuild_rate / decoded["facts_per_second"],
        }
        results.append(result)
        print(f"round {number}: rebuild {facts:,} facts in {rebuilt['seconds']:.1f} s "
              f"({rebuild_rate:,.0f}/s, peak {rebuilt['peak_rss_mb']:.0f} MB); library "
              f"read+decode {decoded['events']:,} in {decoded['seconds']:.1f} s "
              f"({decoded['facts_per_second']:,.0f}/s); ratio {result['ratio']:.3f}x; "
              f"load {load_before[0]:.2f} -> {result['load_average_after'][0]:.2f}", flush=True)
    if args.output:
        args.output.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
