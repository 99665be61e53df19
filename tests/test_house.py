"""Housekeeping (issue 13): the public surface, module sizes, no borrowed private names."""

from __future__ import annotations

import ast

import assistant
from tests.conftest import ROOT


def test_public_types_are_exported():
    from assistant.answer import Answer
    from assistant.embed import Embedder, SentenceTransformerEmbedder
    from assistant.index import BuildReport
    from assistant.search import SearchResult
    from tests.conftest import FakeEmbedder

    for name, obj in {"Answer": Answer, "BuildReport": BuildReport, "SearchResult": SearchResult,
                      "Embedder": Embedder}.items():
        assert name in assistant.__all__ and getattr(assistant, name) is obj
    assert all(hasattr(assistant, name) for name in assistant.__all__)
    assert isinstance(FakeEmbedder(), Embedder) and isinstance(SentenceTransformerEmbedder(), Embedder)
    assert not isinstance(object(), Embedder)


def test_no_module_imports_another_modules_private_names():
    borrowed = []
    for path in sorted((ROOT / "assistant").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module != "__future__":
                borrowed += [f"{path.name}: {a.name}" for a in node.names if a.name.startswith("_")]
    assert not borrowed, borrowed


def test_every_module_fits_on_a_screen_or_two():
    long = {str(p.relative_to(ROOT)): n for p in sorted((ROOT / "assistant").rglob("*.py"))
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400}
    assert not long, long


def test_a_skipped_name_clash_is_said_in_bokmal(corpus_dir, tmp_path, fake_embedder):
    from assistant import Assistant, Config
    from assistant.web.messages import in_bokmal

    (corpus_dir / "ks-leve-hele-livet-2018.md").write_text("# Kopi\n\nEn annen fil med samme navn.\n", encoding="utf-8")
    assistant = Assistant(Config(corpus_dir=corpus_dir, index_dir=tmp_path / "i", feedback_file=tmp_path / "f"),
                          embedder=fake_embedder)
    report = assistant.index()
    (name, reason), = report.skipped.items()
    assert reason.code == "document.same_stem" and "ks-leve-hele-livet-2018" in in_bokmal(reason)
    assert "annen fil heter også" in in_bokmal(reason)
