"""The keyword state saved in the index folder: read back equal, rebuilt when stale or damaged."""

import dataclasses

import numpy as np

import assistant.lexical_store as store
from assistant.index import build_index, load_index
from assistant.retrieve.lexical import Lexical
from assistant.search import Analyzer, Searcher

QUESTIONS = ["Hvor lenge gjelder avtalen?", "heltid og deltid", "velferdsteknologi opplæring", "oppsigelsestid"]


def _states(index_dir):
    return sorted(p.name for p in index_dir.glob(store.STATE_PREFIX + "*"))


def _built(corpus_dir, tmp_path, fake_embedder):
    """A build's data: its searcher saves the keyword state (a loaded index's only reads it)."""
    return build_index(corpus_dir, tmp_path / "idx", fake_embedder)[0]


def test_saved_state_is_read_and_ranks_the_same(corpus_dir, tmp_path, fake_embedder, monkeypatch):
    data = _built(corpus_dir, tmp_path, fake_embedder)
    first = Searcher(data, fake_embedder)
    assert len(_states(tmp_path / "idx")) == 1
    def rebuild(*args):
        raise AssertionError("the keyword index was rebuilt instead of read")

    monkeypatch.setattr(Lexical, "__init__", rebuild)
    monkeypatch.setattr(Searcher, "_make_profiles", rebuild)  # the documents' profiles are read too
    second = Searcher(load_index(tmp_path / "idx"), fake_embedder)  # reads, never rebuilds
    assert second.profiles == first.profiles and len(second.profiles) == len(first.doc_ids) > 1
    for q in QUESTIONS:
        words = first.analyzer.words(q)
        assert first.lexical.expand(words) == second.lexical.expand(words)
        terms = first.lexical.expand(words)
        np.testing.assert_allclose(first.lexical.scores(terms), second.lexical.scores(terms), rtol=1e-6)
        np.testing.assert_allclose(first.doc_lexical.scores(terms), second.doc_lexical.scores(terms), rtol=1e-6)
        a, b = first.search(q), second.search(q)
        assert [h.clause.clause_id for h in a.hits] == [h.clause.clause_id for h in b.hits]
        assert a.answerable == b.answerable


def test_changed_texts_or_analyzer_give_a_new_state(corpus_dir, tmp_path, fake_embedder, monkeypatch):
    data = _built(corpus_dir, tmp_path, fake_embedder)
    Searcher(data, fake_embedder)
    before = _states(tmp_path / "idx")
    (corpus_dir / "ny.txt").write_text("Partene avtaler blåbærsyltetøy i kantina.\n", encoding="utf-8")
    data, _ = build_index(corpus_dir, tmp_path / "idx", fake_embedder)
    searcher = Searcher(data, fake_embedder)
    after = _states(tmp_path / "idx")
    assert len(after) == 1 and after != before  # the old state is removed
    assert searcher.lexical.scores(searcher.lexical.expand(["blåbærsyltetøy"])).max() > 0
    # the analyzer is part of the key: other stop words (or other analyzer code) -> another state
    texts = {"clauses": ["a"], "documents": ["b"]}
    other = Analyzer()
    other._stop = other._stop | {"avtale"}
    assert store.state_key(other, texts) != store.state_key(Analyzer(), texts)
    monkeypatch.setattr(store, "_code_key", lambda analyzer: b"another analyzer")
    Searcher(data, fake_embedder)
    assert _states(tmp_path / "idx") != after


def test_damaged_state_is_rebuilt(corpus_dir, tmp_path, fake_embedder):
    data = _built(corpus_dir, tmp_path, fake_embedder)
    reference = Searcher(data, fake_embedder).search("heltid og deltid")
    (state,) = (tmp_path / "idx").glob(store.STATE_PREFIX + "*")
    target = next(p for p in state.rglob("*.npy"))
    raw = bytearray(target.read_bytes())
    raw[-1] ^= 0xFF
    target.write_bytes(bytes(raw))
    again = Searcher(load_index(tmp_path / "idx"), fake_embedder).search("heltid og deltid")
    assert [h.clause.clause_id for h in again.hits] == [h.clause.clause_id for h in reference.hits]
    assert again.answerable == reference.answerable


def test_no_index_folder_builds_in_memory(corpus_dir, tmp_path, fake_embedder):
    data = dataclasses.replace(_built(corpus_dir, tmp_path, fake_embedder), index_dir=None)
    assert Searcher(data, fake_embedder).search("heltid").hits


def test_saved_bm25_scores_exactly_as_bm25s(corpus_dir, tmp_path, fake_embedder):
    """SavedBM25 (no bm25s import at start) gives bm25s's own scores, bit for bit."""
    import random

    import bm25s

    data = _built(corpus_dir, tmp_path, fake_embedder)
    Searcher(data, fake_embedder)  # saves the state
    folder = next((tmp_path / "idx").glob(store.STATE_PREFIX + "*")) / "clauses"
    ours, theirs = store.SavedBM25(folder), bm25s.BM25.load(str(folder), mmap=True, show_progress=False)
    vocab = sorted(t for t in ours.vocab_dict if t)  # bm25s adds "" past the matrix; never asked for
    rng = random.Random(0)
    for _ in range(50):
        terms = rng.sample(vocab, rng.randint(1, 6)) + ["ukjentord"] * rng.randint(0, 1)
        terms += terms[:1] * rng.randint(0, 1)  # a repeated term counts twice, as in bm25s
        got, want = ours.get_scores(terms), theirs.get_scores(terms)
        assert got.dtype == want.dtype and np.array_equal(got, want)


def test_stop_words_are_bm25s_own():
    from bm25s.tokenization import STOPWORDS_EN, STOPWORDS_NORWEGIAN

    assert store.bm25s_stopwords() == (tuple(STOPWORDS_EN), tuple(STOPWORDS_NORWEGIAN))
