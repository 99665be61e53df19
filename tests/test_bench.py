"""The benchmark's pieces (benchmarks/), fast: a fake embedder, small corpora, no timing assertions."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest

from assistant.index import build_index, load_index
from assistant.loaders import list_documents, load_document
from benchmarks import suite as bench


def test_langchain_chunks_rebuild_from_offsets_and_cover_the_text(corpus_dir):
    for path in list_documents(corpus_dir):
        text = load_document(path).text
        spans = bench.langchain_chunks(text)
        assert spans
        covered = np.zeros(len(text), dtype=bool)
        for s, e in spans:
            assert 0 <= s < e <= len(text) and e - s <= bench.CHUNK_CHARS
            covered[s:e] = True
        assert all(text[i].isspace() for i in np.flatnonzero(~covered))
    assert bench.langchain_chunks("kort tekst") == [(0, 10)]


def test_langchain_peer_chunks_rebuild_and_search(corpus_dir, tmp_path, fake_embedder):
    data, _ = build_index(corpus_dir, tmp_path / "index", fake_embedder)
    docs = list(data.documents.values())
    peer = bench.LangChainPeer(docs, fake_embedder)
    assert len(peer.chunks) >= len(docs)
    by_file = {d.file: d.text for d in docs}
    for i, (file, start, end) in enumerate(peer.chunks):
        assert peer.chunk_text(i) == by_file[file][start:end]
    rows = peer.search("Hva er målet med avtalen?", 5)
    assert 0 < len(rows) <= 5
    for r in rows:
        assert r["text"] == by_file[r["doc"]][r["start"]:r["end"]]


def test_hnsw_recall_on_random_unit_vectors():
    rng = np.random.default_rng(1)
    db = rng.normal(size=(1500, 32)).astype(np.float32)
    db /= np.linalg.norm(db, axis=1, keepdims=True)
    q = db[:40] + 0.05 * rng.normal(size=(40, 32)).astype(np.float32)
    res = bench.hnsw_recall(db, q, m=16, ef_construction=40, ef_search=(16, 128))
    assert res["n"] == 1500 and res["queries"] == 40
    assert [r["ef_search"] for r in res["rows"]] == [16, 128]
    for r in res["rows"]:
        assert 0.0 <= r["recall@10"] <= 1.0 and 0.0 <= r["recall@100"] <= 1.0
    assert res["rows"][1]["recall@10"] >= res["rows"][0]["recall@10"] - 0.02


def test_scaled_index_is_consistent(corpus_dir, tmp_path, fake_embedder, monkeypatch):
    data, _ = build_index(corpus_dir, tmp_path / "index", fake_embedder)
    n = len(data.clauses) * 2 + 7
    scaled = bench.make_scaled_index(data, n, tmp_path / "scaled")
    assert len(scaled.clauses) == n == len(scaled.vectors)
    assert np.allclose(np.linalg.norm(scaled.vectors, axis=1), 1.0, atol=1e-4)
    assert np.array_equal(scaled.vectors[: len(data.clauses)], data.vectors)
    for c in scaled.clauses[:: max(1, n // 200)]:
        assert scaled.documents[c.doc_id].text[c.start:c.end] == c.text
    again = load_index(tmp_path / "scaled")
    assert len(again.clauses) == n
    # left as `assistant index` leaves an index: a start reads the keyword state instead of rebuilding it
    assert list((tmp_path / "scaled").glob("lexical-*/state.json"))
    from assistant.retrieve import lexical
    from assistant.search import Searcher, SearchParams

    built = []
    real_init = lexical.Lexical.__init__

    def counting(self, *args, **kwargs):
        built.append(1)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(lexical.Lexical, "__init__", counting)
    Searcher(again, None, SearchParams(models_file="off"))
    assert built == []


def test_quick_run_report(tmp_path, fake_embedder):
    opts = bench.Options(out=tmp_path / "out", quick=True, scale_sizes=(2_000,), ask_questions=3, max_questions=8)
    report = bench.run(opts, embedder=fake_embedder, log=lambda *a: None)
    assert report["fake_embedder"] is True
    seed = report["corpora"]["seed"]
    for key in ("documents", "clauses", "build", "reindex_unchanged", "load_in_process_s"):
        assert key in seed
    assert seed["build"]["clauses_per_s"] > 0
    assert set(seed["reindex_unchanged"]) == {"build_index_s", "assistant_index_s", "embedded"}
    assert seed["reindex_unchanged"]["embedded"] == 0
    assert seed["peer"]["chunks"] > 0
    if "latency" in seed:  # the evaluation questions are present on this machine
        for key in ("retrieval", "query_embedding", "search_without_embedding", "ask_and_format"):
            assert {"p50", "p95", "p99"} <= set(seed["latency"][key])
        assert "hit@1" in seed["quality"]["ours"] and "hit@1" in seed["quality"]["peer"]
        assert "answer_hit" in seed["quality"]["ours"]
        assert set(seed["by_lang"]["ours"]) == set(seed["by_lang"]["peer"]) >= {"nb"}
        assert "retrieval" in seed["peer"]["latency"]
    nq = report["corpora"]["norquad"]
    if "skipped" not in nq:
        assert nq["clauses"] > 0
        sizes = report["scale"]["sizes"]
        assert [s["clauses"] for s in sizes] == [2_000]
        assert sizes[0]["dense_index"] == "faiss-flat"
    assert "hnsw_recall_random" in report and "hnsw_recall_real" not in report
    assert all(0 <= r["recall@10"] <= 1 for r in report["hnsw_recall_random"]["rows"])
    assert isinstance(report["targets"], list)
    out = tmp_path / "out"
    assert json.loads((out / "report.json").read_text())["quick"] is True
    md = (out / "report.md").read_text()
    assert "FAKE embedder" in md and "## Targets" in md
    if "latency" in seed:
        assert (out / "latency.png").stat().st_size > 1000
    assert not any(p.name.startswith("work-") for p in out.iterdir())  # the work folder is removed


def test_latency_stats():
    s = bench.latency_stats([0.01] * 98 + [0.1, 0.2])
    assert s["n"] == 100 and s["p50"] == pytest.approx(10.0)
    assert s["p99"] > s["p95"] >= s["p50"]
    assert bench.latency_stats([])["p50"] is None


def test_no_bench_inside_the_library():
    from assistant.cli import build_parser

    assert not (bench.PROJECT_ROOT / "assistant" / "bench.py").exists()
    with pytest.raises(SystemExit):
        build_parser().parse_args(["bench"])


def test_serve_benchmark_questions_come_from_a_questions_file(tmp_path):
    from benchmarks import serve

    path = tmp_path / "questions.jsonl"
    path.write_text('{"id": 1, "question": "Hvor lenge gjelder avtalen?"}\n\n{"id": 2, "question": " "}\n'
                    '{"id": 3, "question": "Hvem signerte?"}\n', encoding="utf-8")
    assert serve.read_questions(path) == ["Hvor lenge gjelder avtalen?", "Hvem signerte?"]
    assert serve.read_questions(None) == serve.QUESTIONS
    path.write_text('{"id": 1}\n', encoding="utf-8")
    with pytest.raises(SystemExit):
        serve.read_questions(path)


def test_model_compute_profiles_the_real_forward_pass(real_embedder):
    """The benchmark's account of where a forward pass goes: ONNX Runtime's profile of the served graph."""
    got = bench.model_compute(real_embedder, ["Hvor lenge gjelder avtalen?", "Who signed the agreement?"],
                              ["Avtalen gjelder frem til 31. desember 2015, eller til én av partene velger å si den opp."] * 3)
    if "skipped" in got:
        pytest.skip(got["skipped"])
    per_token, attention = bench._dense_flops(real_embedder.onnx.path)
    assert 40e6 < per_token < 45e6 and attention == 384 * 12  # e5-small: ~21M weights in 12 layers of width 384
    for part in ("question", "passages"):
        row = got[part]
        assert row["tokens_per_text"] > 5 and row["run_ms_per_text"] > 0
        assert 0 < row["dense_share"] <= 1 and row["dense_gflops_per_s"] > 0
        assert "MatMul" in row["kernel_ms_per_text"]
    assert not list(Path(tempfile.gettempdir()).glob(f"ort-profile-{os.getpid()}*"))  # profiles removed
