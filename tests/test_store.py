"""The vector stores behave alike: FAISS flat, FAISS HNSW (forced by a low threshold) and NumPy,
each checked against a NumPy brute-force search."""

import numpy as np
import pytest

from assistant.store import FaissStore, NumpyStore, StoreError, VectorStore, make_store

DIM = 16


def _vectors(n, seed=0):
    v = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


KINDS = {
    "faiss-flat": lambda: FaissStore(DIM),
    "faiss-hnsw": lambda: FaissStore(DIM, hnsw_threshold=10),
    "numpy": lambda: NumpyStore(DIM),
}


@pytest.fixture(params=sorted(KINDS))
def kind(request):
    return request.param


def _filled(kind, n=200):
    store = KINDS[kind]()
    vectors = _vectors(n)
    ids = [f"c{i}" for i in range(n)]
    docs = [f"d{i % 7}" for i in range(n)]
    store.upsert(ids, vectors, docs)
    return store, ids, vectors, docs


def _brute(vectors, ids, docs, q, k, keep=None):
    rows = [i for i in range(len(ids)) if keep is None or docs[i] in keep]
    scores = vectors[rows] @ q
    order = np.argsort(-scores, kind="stable")[:k]
    return [ids[rows[i]] for i in order], scores[order]


def test_is_a_vector_store_with_meta(kind):
    store, ids, _, _ = _filled(kind)
    assert isinstance(store, VectorStore)
    assert len(store) == 200
    assert store.meta == {"kind": kind, "dim": DIM, "count": 200}


@pytest.mark.parametrize("k", [1, 10, 250])
def test_search_matches_brute_force(kind, k):
    store, ids, vectors, docs = _filled(kind)
    for seed in range(5):
        q = _vectors(1, seed=100 + seed)[0]
        found, scores = store.search(q, k)
        want, want_scores = _brute(vectors, ids, docs, q, k)
        assert scores.dtype == np.float32 and len(found) == len(scores) == min(k, 200)
        assert np.all(np.diff(scores) <= 1e-6), "best first"
        np.testing.assert_allclose(scores, want_scores, atol=1e-5)
        if kind != "faiss-hnsw":
            assert found[:3] == want[:3]
        np.testing.assert_allclose(scores, vectors[[ids.index(x) for x in found]] @ q, atol=1e-5)


def test_filter_keeps_only_those_documents_exactly(kind):
    store, ids, vectors, docs = _filled(kind)
    q = _vectors(1, seed=7)[0]
    for keep in ({"d3"}, {"d1", "d5"}, {"nope"}, set()):
        found, scores = store.search(q, 10, filter=keep)
        want, want_scores = _brute(vectors, ids, docs, q, 10, keep)
        assert found == want
        np.testing.assert_allclose(scores, want_scores, atol=1e-5)


def test_upsert_replaces_and_delete_removes(kind):
    store, ids, vectors, docs = _filled(kind)
    q = vectors[5]
    assert store.search(q, 1)[0] == ["c5"]
    store.upsert(["c5", "new"], np.stack([-q, q]), ["d0", "dnew"])  # c5 replaced, "new" added
    assert len(store) == 201
    assert store.search(q, 1)[0] == ["new"]
    np.testing.assert_allclose(store.fetch(["c5"])[0], -q)
    assert store.search(q, 1, filter={"d0"})[0] != ["c5"]
    store.delete(["new", "c7", "not-there"])
    assert len(store) == 199
    found, _ = store.search(q, 199)
    assert "new" not in found and "c7" not in found and set(found) == set(ids) - {"c7"}
    with pytest.raises(StoreError, match="'c7'"):
        store.fetch(["c1", "c7"])


def test_fetch_gives_the_vectors_in_the_order_asked(kind):
    store, ids, vectors, _ = _filled(kind)
    got = store.fetch(["c9", "c0", "c9"])
    assert got.shape == (3, DIM) and got.dtype == np.float32
    np.testing.assert_array_equal(got, vectors[[9, 0, 9]])
    assert store.fetch([]).shape == (0, DIM)


def test_bad_input_is_a_store_error(kind):
    store = KINDS[kind]()
    with pytest.raises(StoreError):
        store.upsert(["a", "b"], _vectors(1), ["d", "d"])
    with pytest.raises(StoreError):
        store.upsert(["a", "a"], _vectors(2), ["d", "d"])
    with pytest.raises(StoreError):
        store.upsert(["a"], np.zeros((1, DIM + 1), np.float32), ["d"])
    assert store.search(_vectors(1)[0], 5) == ([], pytest.approx(np.zeros(0)))


def test_save_and_load_round_trip(kind, tmp_path):
    store, ids, vectors, docs = _filled(kind)
    path = tmp_path / "vectors.bin"
    store.save(path)
    cls = type(store)
    kwargs = {"hnsw_threshold": store.hnsw_threshold} if isinstance(store, FaissStore) else {}
    again = cls.load(path, store.ids, store.docs, **kwargs)
    assert again.meta == store.meta
    q = _vectors(1, seed=3)[0]
    assert again.search(q, 10)[0] == store.search(q, 10)[0]
    assert again.search(q, 5, filter={"d2"})[0] == store.search(q, 5, filter={"d2"})[0]
    np.testing.assert_array_equal(again.fetch(ids), vectors)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vectors.bin"]  # no temporary file left


def test_saved_faiss_file_is_the_searched_index(tmp_path):
    import faiss

    for threshold, cls in ((10_000, faiss.IndexFlatIP), (10, faiss.IndexHNSWFlat)):
        store = FaissStore(DIM, hnsw_threshold=threshold)
        store.upsert([f"c{i}" for i in range(50)], _vectors(50), ["d"] * 50)
        store.save(tmp_path / "v.faiss")
        assert isinstance(faiss.read_index(str(tmp_path / "v.faiss")), cls)
        assert isinstance(FaissStore.load(tmp_path / "v.faiss", store.ids, store.docs, hnsw_threshold=threshold).index, cls)


def test_copy_is_independent(kind):
    store, ids, vectors, docs = _filled(kind)
    other = store.copy()
    other.delete(["c1"])
    other.upsert(["c2"], -vectors[2:3], ["d2"])
    assert len(store) == 200 and len(other) == 199
    np.testing.assert_array_equal(store.fetch(["c2"]), vectors[2:3])


def test_arrange_puts_rows_in_order(kind):
    store, ids, vectors, docs = _filled(kind, n=20)
    order = ids[::-1]
    store.arrange(order)
    assert store.ids == order
    np.testing.assert_array_equal(store.vectors, vectors[::-1])
    with pytest.raises(StoreError):
        store.arrange(order[1:])


def test_hnsw_cache_is_reused(tmp_path):
    vectors = _vectors(60)
    ids = [f"c{i}" for i in range(60)]
    first = FaissStore(DIM, hnsw_cache=tmp_path / "cache", hnsw_threshold=10)
    first.upsert(ids, vectors, ["d"] * 60)
    first.index
    (cached,) = (tmp_path / "cache").glob("hnsw-*.faiss")
    second = FaissStore(DIM, hnsw_cache=tmp_path / "cache", hnsw_threshold=10)
    second.upsert(ids, vectors, ["d"] * 60)
    assert second.index.ntotal == 60 and list((tmp_path / "cache").glob("hnsw-*.faiss")) == [cached]
    assert second.index.hnsw.efSearch == FaissStore.HNSW_EF_SEARCH
    cached.write_bytes(b"damaged")  # a bad cache file is rebuilt, not trusted
    third = FaissStore(DIM, hnsw_cache=tmp_path / "cache", hnsw_threshold=10)
    third.upsert(ids, vectors, ["d"] * 60)
    assert third.search(vectors[0], 5)[0] == second.search(vectors[0], 5)[0]
    assert FaissStore(DIM, hnsw_cache=tmp_path / "cache").meta["kind"] == "faiss-flat"  # small: exact


def test_make_store():
    assert make_store("numpy", 8).meta == {"kind": "numpy", "dim": 8, "count": 0}
    assert make_store("faiss", 8).meta["kind"] == "faiss-flat"
    assert make_store("faiss-hnsw", 8).meta["kind"] == "faiss-hnsw"
    with pytest.raises(StoreError, match="unknown vector store 'annoy'"):
        make_store("annoy", 8)


def test_index_data_store_and_numpy_swap(fake_assistant):
    """IndexData holds its clause vectors in a FaissStore keyed by clause id; `with_store` gives the
    same index searched through another store, with the same results."""
    data = fake_assistant.load().data
    assert isinstance(data.store, FaissStore) and data.store.meta["count"] == len(data.clauses)
    assert data.store.ids == [c.clause_id for c in data.clauses] and data.store.vectors is data.vectors
    swapped = data.with_store(make_store("numpy", data.dim))
    assert swapped.store.meta["kind"] == "numpy" and swapped.vectors is data.vectors
    q = fake_assistant.embedder.embed_queries(["heltidsstillinger i sektoren"])[0]
    a, sa = data.store.search(q, 10)
    b, sb = swapped.store.search(q, 10)
    np.testing.assert_allclose(sa, sb, atol=1e-5)
    doc = data.clauses[0].doc_id
    assert data.store.search(q, 5, filter=[doc])[0] == swapped.store.search(q, 5, filter=[doc])[0]
    assert all(data.clauses[[c.clause_id for c in data.clauses].index(x)].doc_id == doc
               for x in data.store.search(q, 5, filter=[doc])[0])


def test_hnsw_filter_of_many_rows_searches_the_graph_with_a_selector(monkeypatch):
    import assistant.store as store_module

    monkeypatch.setattr(store_module, "EXACT_FILTER_ROWS", 0)
    store, ids, vectors, docs = _filled("faiss-hnsw", n=300)
    q = _vectors(1, seed=11)[0]
    found, scores = store.search(q, 10, filter={"d1", "d4"})
    want, want_scores = _brute(vectors, ids, docs, q, 10, {"d1", "d4"})
    assert all(docs[ids.index(x)] in ("d1", "d4") for x in found)
    assert len(set(found) & set(want)) >= 9  # approximate, but only the kept documents


def test_the_searcher_searches_the_index_datas_store(fake_assistant):
    """The dense retriever asks the IndexData's own store: no second index over the same vectors."""
    searcher = fake_assistant.load()
    assert searcher.dense.store is searcher.data.store
