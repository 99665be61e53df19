import json
import shutil

import numpy as np
import pytest

from assistant import Assistant, Config, ConfigError, IndexError_
from assistant.index import MANIFEST, build_index, load_index


def test_build_then_reload_embeds_nothing(corpus_dir, tmp_path, fake_embedder):
    data, report = build_index(corpus_dir, tmp_path / "idx", fake_embedder)
    assert sorted(report.added) == ["avtale-kvalitet-helse-omsorg-2012-2015", "ks-leve-hele-livet-2018"]
    assert report.embedded_clauses == len(data.clauses) > 0
    before = sorted(p.name for p in (tmp_path / "idx").iterdir())
    data2, report2 = build_index(corpus_dir, tmp_path / "idx", fake_embedder)
    assert report2.embedded_clauses == 0 and not report2.changed
    assert sorted(p.name for p in (tmp_path / "idx").iterdir()) == before
    assert np.array_equal(data.vectors, data2.vectors)


def test_only_changed_document_is_reembedded(corpus_dir, tmp_path, fake_embedder):
    build_index(corpus_dir, tmp_path / "idx", fake_embedder)
    path = corpus_dir / "ks-leve-hele-livet-2018.txt"
    path.write_text(path.read_text(encoding="utf-8") + "\n\nEt nytt avsnitt om eldreomsorg.\n", encoding="utf-8")
    (corpus_dir / "ny.md").write_text("# Ny avtale\n\nPartene er enige om bemanning.\n", encoding="utf-8")
    data, report = build_index(corpus_dir, tmp_path / "idx", fake_embedder)
    assert report.updated == ["ks-leve-hele-livet-2018"] and report.added == ["ny"]
    n_changed = sum(1 for c in data.clauses if c.doc_id in ("ks-leve-hele-livet-2018", "ny"))
    assert report.embedded_clauses == n_changed
    (corpus_dir / "ny.md").unlink()
    data, report = build_index(corpus_dir, tmp_path / "idx", fake_embedder)
    assert report.removed == ["ny"] and report.embedded_clauses == 0
    assert "ny" not in data.documents


def test_vectors_match_a_fresh_embedding(corpus_dir, tmp_path, fake_embedder):
    data, _ = build_index(corpus_dir, tmp_path / "idx", fake_embedder)
    loaded = load_index(tmp_path / "idx")
    texts = [c.indexed_text(loaded.documents[c.doc_id].title) for c in loaded.clauses]
    assert np.allclose(loaded.vectors, fake_embedder.embed_passages(texts), atol=1e-6)
    assert [c.clause_id for c in loaded.clauses] == [c.clause_id for c in data.clauses]


def test_index_refuses_another_model_and_never_replaces_it(corpus_dir, tmp_path, fake_embedder):
    """An index is never replaced by one of another model: the build is refused, naming both
    models and the way out (another --index folder), and the folder is left as it was."""
    build_index(corpus_dir, tmp_path / "idx", fake_embedder)
    with pytest.raises(IndexError_, match="built with model"):
        load_index(tmp_path / "idx", model="some-other-model")
    before = {p.name: p.read_bytes() for p in (tmp_path / "idx").iterdir()}

    class Other(type(fake_embedder)):
        name = "other-model"

    with pytest.raises(IndexError_, match="'fake-hash-embedder', not 'other-model'.*another folder"):
        build_index(corpus_dir, tmp_path / "idx", Other())
    assert {p.name: p.read_bytes() for p in (tmp_path / "idx").iterdir()} == before
    data, _ = build_index(corpus_dir, tmp_path / "other", Other())
    assert data.model == "other-model"
    assert json.loads((tmp_path / "other" / MANIFEST).read_text())["model"] == "other-model"


def test_damaged_file_is_detected_and_rebuilt(corpus_dir, tmp_path, fake_embedder):
    build_index(corpus_dir, tmp_path / "idx", fake_embedder)
    manifest = json.loads((tmp_path / "idx" / MANIFEST).read_text())
    clauses = tmp_path / "idx" / manifest["files"]["clauses"]["name"]
    clauses.write_bytes(clauses.read_bytes()[:-50])
    with pytest.raises(IndexError_, match="damaged"):
        load_index(tmp_path / "idx")
    data, report = build_index(corpus_dir, tmp_path / "idx", fake_embedder)
    assert "damaged" in report.rebuilt_because
    assert load_index(tmp_path / "idx").clauses == data.clauses


def test_faiss_search_matches_numpy_brute_force(fake_assistant):
    searcher = fake_assistant.load()
    q = fake_assistant.embedder.embed_queries(["heltidsstillinger i sektoren"])[0]
    found = searcher.dense.top(q, 10)  # {clause_id: cosine}, asked of the index's vector store
    ids = searcher.catalogue.rows(found)
    sims = np.array(list(found.values()))
    brute = searcher.data.vectors @ q
    expected = np.argsort(-brute, kind="stable")[:10]
    assert np.allclose(np.sort(sims)[::-1], brute[expected], atol=1e-5)
    assert set(ids.tolist()) == set(expected.tolist()) or np.allclose(np.sort(brute[ids]), np.sort(brute[expected]))


def test_config_validation_names_value_and_fix(tmp_path):
    with pytest.raises(ConfigError, match="top_k must be an integer from 1 to 100, got 0"):
        Config(top_k=0)
    with pytest.raises(ConfigError, match="abstain_threshold"):
        Config(abstain_threshold=1.5)


def test_missing_corpus_gives_clear_error(tmp_path, fake_embedder):
    from assistant import DocumentError

    config = Config(corpus_dir=tmp_path / "nope", index_dir=tmp_path / "idx")
    with pytest.raises(DocumentError, match="does not exist"):
        Assistant(config, embedder=fake_embedder).index()


def test_empty_corpus_indexes_nothing_and_answers_nothing(tmp_path, fake_embedder):
    (tmp_path / "c").mkdir()
    config = Config(corpus_dir=tmp_path / "c", index_dir=tmp_path / "idx")
    a = Assistant(config, embedder=fake_embedder)
    assert a.index().total_clauses == 0
    answer = a.ask("Hva sier avtalen?")
    assert not answer.answered and answer.hits == []


def test_copy_of_index_folder_loads_elsewhere(corpus_dir, tmp_path, fake_embedder):
    build_index(corpus_dir, tmp_path / "idx", fake_embedder)
    shutil.copytree(tmp_path / "idx", tmp_path / "copy")
    assert len(load_index(tmp_path / "copy").clauses) > 0


def test_format_3_index_is_read_and_rewritten_as_format_5(corpus_dir, tmp_path, fake_embedder):
    """Format 3 kept the sentences in one .npz; it is still read, and the next build writes format 4
    (memory-mapped .npy) without embedding anything; so does `assistant index` (the current format)."""
    from assistant.files import sha256 as _sha256
    from assistant.index_files import manifest_checksum as _manifest_checksum

    idx = tmp_path / "idx"
    data, _ = build_index(corpus_dir, idx, fake_embedder)
    manifest = json.loads((idx / MANIFEST).read_text(encoding="utf-8"))
    files = manifest["files"]
    npz = idx / files["sentences"]["name"].replace(".npy", ".npz")
    np.savez(npz, spans=data.sentences, vectors=data.sentence_vectors)
    for role in ("sentences", "sentence_vectors"):
        (idx / files.pop(role)["name"]).unlink()
    files["sentences"] = {"name": npz.name, "sha256": _sha256(npz)}
    manifest["format"] = 3
    manifest["checksum"] = _manifest_checksum(manifest)
    (idx / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")

    old = load_index(idx)
    assert np.array_equal(old.sentences, data.sentences) and np.array_equal(old.sentence_vectors, data.sentence_vectors)
    new, report = build_index(corpus_dir, idx, fake_embedder)
    assert report.embedded_clauses == 0 and report.embedded_sentences == 0
    manifest = json.loads((idx / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["format"] == 5 and manifest["files"]["sentence_vectors"]["name"].endswith(".npy")
    assert not list(idx.glob("*.npz"))[1:]  # only the words file is an .npz
    again = load_index(idx)
    assert np.array_equal(again.sentence_vectors, data.sentence_vectors)
    assert not again.sentence_vectors.flags.writeable  # memory-mapped, read-only
