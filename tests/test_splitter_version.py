"""SPLITTER_VERSION is a number bumped on purpose: this test pins what the loaders and the
splitter make of sample documents (the bundled corpus/ and small Markdown and HTML files), so a
change to their output cannot slip by with the old number (indexes would keep clauses that the
code no longer makes). A reformatting that changes nothing keeps the number and every index."""

import hashlib
import json
import shutil

from assistant.index import SPLITTER_VERSION
from assistant.loaders import load_document
from assistant.split import split_document
from tests.conftest import SEED_CORPUS

# the hash of the samples' documents and clauses under SPLITTER_VERSION (update both together)
PINNED = {6: "e5dc66c9f8940cfa"}  # 6 changed no sample (only sentences after an initial)

MARKDOWN = """# Avtale om bemanning

Partene er enige om følgende:

- heltid som hovedregel
- kompetanseheving for alle ansatte

## Varighet

Avtalen gjelder fra 1. januar 2020 til 31. desember 2023. Den kan sies opp med seks måneders varsel.

Oslo, 1. desember 2019

Kari Nordmann
Ola Nordmann
"""

HTML = """<!doctype html><html><head><title>Samarbeidsavtale om velferdsteknologi</title></head><body>
<h1>Samarbeidsavtale om velferdsteknologi</h1><p>Formålet med avtalen er å ta i bruk velferdsteknologi.</p>
<h2>Tiltak</h2><ul><li>Opplæring av ansatte</li><li>Felles innkjøp</li></ul>
<p>Avtalen evalueres årlig av partene.</p></body></html>
"""


def _fingerprint(tmp_path) -> str:
    folder = tmp_path / "samples"
    shutil.copytree(SEED_CORPUS, folder)
    (folder / "bemanning.md").write_text(MARKDOWN, encoding="utf-8")
    (folder / "velferd.html").write_text(HTML, encoding="utf-8")
    h = hashlib.sha256()
    for path in sorted(p for p in folder.iterdir() if not p.name.endswith(".meta.json")):
        doc = load_document(path)
        h.update(json.dumps([doc.doc_id, doc.title, doc.text, doc.date, doc.kind], ensure_ascii=False).encode())
        for c in split_document(doc):
            row = [c.clause_id, c.ordinal, c.kind, c.start, c.end, list(c.headings), c.leadin, c.text,
                   c.indexed_text(doc.title)]
            h.update(json.dumps(row, ensure_ascii=False).encode())
    return h.hexdigest()[:16]


def test_splitter_output_is_pinned_to_its_version(tmp_path):
    got = _fingerprint(tmp_path)
    assert PINNED.get(SPLITTER_VERSION) == got, (
        f"the splitter's output changed: bump SPLITTER_VERSION (assistant/index.py, now {SPLITTER_VERSION}) "
        f"and update this hash: PINNED = {{{SPLITTER_VERSION + (SPLITTER_VERSION in PINNED)}: {got!r}}}"
        " (or, if the samples themselves changed, only the hash)")


def test_splitter_version_is_a_number_in_the_manifest(corpus_dir, tmp_path, fake_embedder):
    from assistant.index import MANIFEST, build_index

    assert isinstance(SPLITTER_VERSION, int)
    build_index(corpus_dir, tmp_path / "idx", fake_embedder)
    manifest = json.loads((tmp_path / "idx" / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["splitter_version"] == SPLITTER_VERSION

