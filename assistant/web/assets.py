"""The page's stylesheet and the small scripts given to Gradio (no HTML built from data here)."""

CSS = """
.visually-hidden { position: absolute !important; width: 1px !important; height: 1px !important;
  overflow: hidden !important; clip: rect(0 0 0 0) !important; white-space: nowrap !important;
  padding: 0 !important; margin: -1px !important; border: 0 !important; }
#app-header .hdr { display: flex; align-items: baseline; gap: 1rem; flex-wrap: wrap; }
#app-header h1 { margin: 0; font-size: 1.5rem; }
#app-header p { margin: 0; color: var(--body-text-color-subdued); }
#doc-summary { color: var(--body-text-color-subdued); font-size: .88rem; }
#doc-summary p { margin: 0; }
.welcome h3 { margin-top: 0; }
.answer { line-height: 1.5; }
.answer .answer-label { font-weight: 600; margin: 0 0 .3rem 0; }
.answer .lead { margin: 0 0 .8rem 0; padding: .5rem .8rem; border-left: 4px solid var(--color-accent);
  background: var(--background-fill-secondary); border-radius: 4px; font-size: 1.02rem; }
.answer .lead p { margin: .15rem 0; }
.answer.no-answer .answer-label.none { font-size: 1.05rem; }
.answer .note { font-size: .85rem; color: var(--body-text-color-subdued); margin: 0 0 .5rem 0; }
.answer .sources-label { font-weight: 600; margin: .6rem 0 .3rem 0; }
.source-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: .6rem .8rem;
  margin: 0 0 .55rem 0; background: var(--background-fill-primary); }
.source-card.related { border-style: dashed; }
.card-head { line-height: 1.35; }
.card-num { font-weight: 700; color: var(--color-accent); margin-right: .35rem; }
.card-title { font-weight: 600; }
.card-date { color: var(--body-text-color-subdued); font-size: .85rem; margin-left: .5rem; white-space: nowrap; }
.card-meta { color: var(--body-text-color-subdued); font-size: .85rem; margin: .1rem 0 .3rem 0; }
.card-leadin { font-style: italic; margin: 0; }
.card-text { white-space: pre-line; margin: .1rem 0 .4rem 0; }
.card-foot { display: flex; justify-content: space-between; align-items: center; gap: .6rem; flex-wrap: wrap; }
.relevance { display: inline-flex; align-items: center; gap: .4rem; font-size: .8rem;
  color: var(--body-text-color-subdued); }
.rel-bar { display: inline-block; width: 70px; height: 7px; border-radius: 4px; background: var(--border-color-primary);
  overflow: hidden; }
.rel-fill { display: block; height: 100%; background: var(--color-accent); }
.rel-0 { width: 4%; } .rel-1 { width: 10%; } .rel-2 { width: 20%; } .rel-3 { width: 30%; } .rel-4 { width: 40%; }
.rel-5 { width: 50%; } .rel-6 { width: 60%; } .rel-7 { width: 70%; } .rel-8 { width: 80%; } .rel-9 { width: 90%; }
.rel-10 { width: 100%; }
button.show-doc { font-size: .82rem; padding: .2rem .6rem; border-radius: 6px; cursor: pointer;
  border: 1px solid var(--color-accent); color: var(--color-accent); background: transparent; }
button.show-doc:hover { background: var(--color-accent-soft); }
.answer details > summary { cursor: pointer; margin: .2rem 0 .5rem 0; color: var(--body-text-color-subdued); }
.answer mark, #doc-view mark { background: #fde68a; color: #1f2937; padding: 0 .1em; border-radius: 2px; }
.notice { padding: .4rem .6rem; border-left: 4px solid #d97706; background: var(--background-fill-secondary); }
#doc-view .doc-head h3 { margin: 0 0 .2rem 0; font-size: 1.05rem; }
#doc-view .doc-head p { margin: 0 0 .5rem 0; color: var(--body-text-color-subdued); font-size: .85rem; }
#doc-view .doc-scroll { position: relative; max-height: 420px; overflow-y: auto; white-space: pre-wrap;
  line-height: 1.5; padding: .6rem .8rem; border: 1px solid var(--border-color-primary); border-radius: 8px;
  background: var(--background-fill-primary); font-size: .92rem; }
#doc-view mark.doc-target { background: #fde68a; outline: 2px solid #f59e0b; }
.doc-empty { color: var(--body-text-color-subdued); padding: .5rem; }
#upload-status .upload-ok { color: #15803d; font-weight: 600; }
#upload-status .upload-error { color: #b45309; font-weight: 600; }
table.doc-table { width: 100%; border-collapse: collapse; font-size: .92rem; }
table.doc-table th, table.doc-table td { text-align: left; padding: .35rem .5rem;
  border-bottom: 1px solid var(--border-color-primary); vertical-align: top; }
table.doc-table td.num { text-align: right; }
table.doc-table td.date { white-space: nowrap; }
.example-q { text-align: left !important; }
"""

# A delegated click handler: a «Vis i dokumentet» button inside a chat message carries the
# number of its source as a class (ref-N; the chat's sanitizer drops data attributes). The
# number goes to a hidden textbox via a hidden button whose event opens the document.
JS = """
() => {
  if (window.__avtaleInit) return;
  window.__avtaleInit = true;
  document.addEventListener('click', (ev) => {
    const btn = ev.target && ev.target.closest ? ev.target.closest('button.show-doc') : null;
    if (!btn) return;
    const ref = Array.from(btn.classList).find((c) => /^ref-\\d+$/.test(c));
    if (!ref) return;
    ev.preventDefault();
    window.__avtaleRef = ref.slice(4);
    const trigger = document.querySelector('#open-doc-trigger');
    if (trigger) trigger.click();
  });
}
"""
# After an answer: scroll the chat so the new question and the start of its answer are in view
# (the chat's own autoscroll would show the end of the last source card instead).
SCROLL_CHAT_JS = """
() => {
  setTimeout(() => {
    const rows = document.querySelectorAll('#chat .message-row');
    if (!rows.length) return;
    let row = rows[rows.length - 1];
    const users = document.querySelectorAll('#chat .user-row');
    if (users.length) row = users[users.length - 1];
    let box = row.parentElement;
    while (box && box !== document.body) {
      const style = getComputedStyle(box);
      if (/(auto|scroll)/.test(style.overflowY) && box.scrollHeight > box.clientHeight) break;
      box = box.parentElement;
    }
    if (!box || box === document.body) return;
    box.scrollTop += row.getBoundingClientRect().top - box.getBoundingClientRect().top - 8;
  }, 60);
}
"""
PICK_REF_JS = "() => (window.__avtaleRef || '')"
SCROLL_JS = """
() => {
  let tries = 0;
  const go = () => {
    const box = document.querySelector('#doc-view .doc-scroll');
    const mark = document.querySelector('#doc-view mark.doc-target');
    if (!box || !mark) { if (tries++ < 20) setTimeout(go, 50); return; }
    box.scrollTop = Math.max(0, mark.offsetTop - box.clientHeight / 3);
    const panel = document.querySelector('#doc-view');
    if (panel) {
      const r = panel.getBoundingClientRect();
      if (r.top > window.innerHeight * 0.6 || r.bottom < 80) panel.scrollIntoView({block: 'start'});
    }
  };
  setTimeout(go, 30);
}
"""
