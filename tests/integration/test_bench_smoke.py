"""scripts/bench runs end to end at a small size, so it never rots (no timing assertions)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"

INGEST = ("ledger_import", "library_stock_save", "library_stock_pipeline", "copy_ceiling",
          "copy_ceiling_with_fact_index")
RATIOS = ("ingest_vs_stock_save", "ingest_vs_stock_pipeline", "ingest_vs_copy_ceiling",
          "ingest_vs_copy_ceiling_with_fact_index", "rebuild_vs_library_read_decode")
QUERIES = ("reconcile_adm1", "views_show_camp", "audit_count_camp")


@pytest.mark.slow
@pytest.mark.postgres
def test_bench_measures_everything_on_postgres_and_sqlite(tmp_path: Path) -> None:
    output = tmp_path / "bench.json"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench"), "--households", "1000",
         "--postgres-url", PG_URL, "--samples", "5", "--live-facts", "10", "--service-facts", "20",
         "--startup-runs", "2", "--output", str(output)],
        check=True, cwd=tmp_path, timeout=900,
    )
    results = json.loads(output.read_text())
    assert results["households"] == 1000
    assert set(results["engines"]) == {"postgres", "sqlite"}
    for engine in results["engines"].values():
        report = engine["ingest"]["ledger_import"]["report"]
        assert report["recorded"] == results["facts"]
        assert report["rejected"] == 0
        for key in INGEST:
            assert engine["ingest"][key]["facts_per_second"] > 0, key
        assert engine["rebuild"]["ledger_rebuild"]["facts_per_second"] > 0
        assert engine["rebuild"]["library_read_decode"]["events"] == results["facts"]
        assert set(RATIOS) <= set(engine["ratios"])
        for key in QUERIES:
            assert 3 <= engine["queries"][key]["samples"] <= 5
            assert {"median_ms", "p95_ms"} <= set(engine["queries"][key])
        assert engine["live"]["samples"] == 10
        assert engine["startup"]["help"]["samples"] == engine["startup"]["views_show_camp"]["samples"] == 2
        assert {"p50_ms", "p99_ms"} <= set(engine["live"])
        assert engine["memory"]["import_peak_rss_mb"] > 0
        assert engine["memory"]["rebuild_peak_rss_mb"] > 0
        national = engine["national"]
        assert national["official_idp_individuals"] > national["operational_idp_individuals"]
        assert all("met" in target for target in engine["targets"].values())
        service = engine["service"]
        assert service["post_facts_16_clients"]["facts"] == 16 * 20
        assert service["post_facts_16_clients"]["facts_per_second"] > 0
        for key in ("reconcile_adm1", "views_show_camp"):
            assert service[key]["http"]["samples"] == service[key]["in_process"]["samples"] == 5
