"""Each supported format loads into text whose structure the splitter sees (real files in tmp)."""

from assistant.loaders import load_document
from assistant.split import split_document


def _kinds(doc):
    return {(c.kind, c.text) for c in split_document(doc)}


def test_markdown_front_matter_gives_metadata(tmp_path):
    p = tmp_path / "avtale.md"
    p.write_text("---\ntitle: Ny avtale\ndate: 2024-01-31\nkind: avtale\n---\n# Formål\n\nPartene vil:\n\n- samarbeide om bemanning\n",
                 encoding="utf-8")
    doc = load_document(p)
    assert (doc.title, doc.date, doc.kind) == ("Ny avtale", "2024-01-31", "avtale")
    item = next(c for c in split_document(doc) if c.kind == "item")
    assert item.text == "samarbeide om bemanning" and item.leadin == "Partene vil:" and item.headings == ("Formål",)


def test_sidecar_metadata_wins(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("Første linje som tittel\n\nEt avsnitt om noe viktig i kommunene.\n", encoding="utf-8")
    (tmp_path / "a.meta.json").write_text('{"title": "Riktig tittel", "date": "2020-05-01"}', encoding="utf-8")
    doc = load_document(p)
    assert doc.title == "Riktig tittel" and doc.date == "2020-05-01"


def test_docx_headings_and_lists(tmp_path):
    import docx

    d = docx.Document()
    d.core_properties.title = "Avtale om nattevakt"
    d.add_heading("Bemanning", level=1)
    d.add_paragraph("Partene vil i fellesskap:")
    d.add_paragraph("sikre nattevakt i hjemmetjenesten", style="List Bullet")
    d.add_paragraph("styrke rekrutteringen", style="List Bullet")
    p = tmp_path / "natt.docx"
    d.save(p)
    doc = load_document(p)
    assert doc.title == "Avtale om nattevakt"
    items = [c for c in split_document(doc) if c.kind == "item"]
    assert [c.text for c in items] == ["sikre nattevakt i hjemmetjenesten", "styrke rekrutteringen"]
    assert items[0].leadin == "Partene vil i fellesskap:" and items[0].headings == ("Bemanning",)


def test_html_structure_without_scripts(tmp_path):
    p = tmp_path / "side.html"
    p.write_text("<html><head><title>Avtalen</title><script>alert(1)</script></head><body>"
                 "<h1>Avtalen</h1><h2>Mål</h2><p>Partene vil bidra til bedre kvalitet.</p>"
                 "<ul><li>første tiltak</li><li>andre tiltak</li></ul></body></html>", encoding="utf-8")
    doc = load_document(p)
    assert doc.title == "Avtalen" and "alert" not in doc.text
    kinds = _kinds(doc)
    assert ("paragraph", "Partene vil bidra til bedre kvalitet.") in kinds
    assert ("item", "første tiltak") in kinds and ("item", "andre tiltak") in kinds


def test_pdf_text_is_extracted(tmp_path):
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    p = tmp_path / "avtale.pdf"
    c = canvas.Canvas(str(p), pagesize=A4)
    c.setTitle("PDF-avtalen")
    c.drawString(72, 760, "Avtalen gjelder til 31. desember 2030.")
    c.showPage()
    c.drawString(72, 760, "Side to handler om velferdsteknologi.")
    c.save()
    doc = load_document(p)
    assert doc.title == "PDF-avtalen"
    assert "31. desember 2030" in doc.text and "velferdsteknologi" in doc.text
    for clause in split_document(doc):
        assert doc.text[clause.start : clause.end] == clause.text
