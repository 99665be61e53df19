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
.answer .answer-label.also { margin-top: .2rem; }
.answer .answer-label.also .also-source { font-weight: normal; font-size: .9rem; color: var(--body-text-color-subdued); }
.answer .lead.also { border-left-style: dashed; }
.answer .lead { margin: 0 0 .8rem 0; padding: .5rem .8rem; border-left: 4px solid var(--color-accent);
  background: var(--background-fill-secondary); border-radius: 4px; font-size: 1.02rem; }
.answer .lead p { margin: .15rem 0; }
.answer .group-title { margin: .4rem 0 .2rem 0; font-size: .92rem; }
.answer .group-title .show-doc { margin-left: .4rem; }
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
.answer-tools { display: flex; flex-wrap: wrap; gap: .4rem; align-items: center; margin: .5rem 0 0 0; }
.answer-tools button, .doc-tools button { font-size: .8rem; padding: .15rem .55rem; border-radius: 6px; cursor: pointer;
  border: 1px solid var(--border-color-primary); background: transparent; color: var(--body-text-color); }
.answer-tools button.voted { background: var(--color-accent-soft); border-color: var(--color-accent); font-weight: 600; }
.share-link { display: none !important; }  /* Gradio also scopes this css; !important wins both */
.vote-state { font-size: .8rem; color: #15803d; }
.doc-tools { margin: 0 0 .4rem 0; }
#share-out-text { font-size: .85rem; color: var(--body-text-color-subdued); margin: 0; overflow-wrap: anywhere; }
.source-line { display: none; font-size: .9rem; margin: .2rem 0; }
.source-line button.show-doc { margin-left: .3rem; }
body.compact-mode .answer .source-card, body.compact-mode .answer details,
body.compact-mode .answer .sources-label, body.compact-mode .answer > p.note { display: none !important; }
body.compact-mode .answer .source-line { display: block !important; }
.facts-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: .6rem .8rem;
  margin: 0 0 .8rem 0; background: var(--background-fill-primary); }
.facts-title { margin: 0 0 .3rem 0; }
.fact { display: grid; grid-template-columns: minmax(6rem, 9rem) minmax(0, 1fr); gap: .2rem .8rem; padding: .35rem 0;
  border-top: 1px solid var(--border-color-primary); }
.fact-label { font-weight: 600; color: var(--body-text-color-subdued); font-size: .88rem; }
.fact-quote { margin: 0 0 .25rem 0; }
.fact-meta { color: var(--body-text-color-subdued); font-size: .8rem; white-space: nowrap; }
.remove-question { margin: 0; }
.card-text, .lead, .fact-quote, .card-title, .doc-head h3 { overflow-wrap: anywhere; }
@media (max-width: 640px) {
  #app-header p { display: none; }
  .fact { grid-template-columns: minmax(0, 1fr); }
  .card-date { white-space: normal; margin-left: 0; display: block; }
  table.doc-table { display: block; overflow-x: auto; }
  #doc-view .doc-scroll { max-height: 300px; }
}
"""

# Delegated handlers for buttons inside chat messages and HTML panels (the chat's sanitizer
# drops data attributes, so a button carries its number as a class):
#   «Vis i dokumentet»  ref-N (chat card N) / fref-N (facts card row N) -> #open-doc-trigger
#   vote buttons        vote-up|vote-down + ans-N                       -> #vote-trigger
#   «Kopier lenke»      the query string in the sibling .share-link     -> clipboard and #share-out-text
# The number goes to a hidden textbox via a hidden button whose event does the work.
# Also: «/» focuses the question box, and the compact view is restored from localStorage.
JS = """
() => {
  if (window.__avtaleInit) return;
  window.__avtaleInit = true;
  const press = (sel) => { const b = document.querySelector(sel); if (b) b.click(); };
  const numbered = (el, re) => Array.from(el.classList).find((c) => re.test(c));
  const copy = async (text) => {
    try { await navigator.clipboard.writeText(text); return true; } catch (e) { /* fall back */ }
    const ta = document.createElement('textarea');
    ta.value = text; ta.setAttribute('readonly', ''); ta.style.position = 'fixed'; ta.style.opacity = '0';
    document.body.appendChild(ta); ta.select();
    let ok = false;
    try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
    ta.remove();
    return ok;
  };
  document.addEventListener('click', (ev) => {
    const t = ev.target && ev.target.closest ? ev.target : null;
    if (!t) return;
    const show = t.closest('button.show-doc');
    if (show) {
      const ref = numbered(show, /^f?ref-\\d+$/);
      if (!ref) return;
      ev.preventDefault();
      window.__avtaleRef = ref.startsWith('fref-') ? 'f' + ref.slice(5) : ref.slice(4);
      press('#open-doc-trigger');
      return;
    }
    const vote = t.closest('button.vote');
    if (vote) {
      const n = numbered(vote, /^ans-\\d+$/);
      if (!n) return;
      ev.preventDefault();
      window.__avtaleVote = (vote.classList.contains('vote-up') ? 'up:' : 'down:') + n.slice(4);
      press('#vote-trigger');
      return;
    }
    const link = t.closest('button.copy-link');
    if (link) {
      const span = link.parentElement && link.parentElement.querySelector('.share-link');
      if (!span) return;
      ev.preventDefault();
      const url = location.origin + location.pathname + '?' + span.textContent;
      window.__avtaleLink = url;
      copy(url).then((ok) => {
        const out = document.querySelector('#share-out-text');
        if (out) out.textContent = (ok ? 'Lenken er kopiert: ' : 'Kopier lenken: ') + url;
      });
    }
  });
  document.addEventListener('keydown', (ev) => {
    if (ev.key !== '/' || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const a = document.activeElement;
    if (a && (a.tagName === 'INPUT' || a.tagName === 'TEXTAREA' || a.tagName === 'SELECT' || a.isContentEditable)) return;
    const box = document.querySelector('#question textarea');
    if (!box) return;
    ev.preventDefault();
    box.focus();
  });
  if (localStorage.getItem('avtale-compact') === '1') document.body.classList.add('compact-mode');
  // Gradio scopes the css inside its container; the page margin is outside it
  const narrow = document.createElement('style');
  narrow.textContent = '@media (max-width: 640px) { .main.app { padding-left: 8px !important; padding-right: 8px !important; } }';
  document.head.appendChild(narrow);
}
"""
PICK_VOTE_JS = "() => (window.__avtaleVote || '')"
COMPACT_JS = """
(on) => {
  document.body.classList.toggle('compact-mode', !!on);
  try { localStorage.setItem('avtale-compact', on ? '1' : '0'); } catch (e) { /* private mode */ }
  return [];
}
"""
COMPACT_STORED_JS = "() => { try { return localStorage.getItem('avtale-compact') === '1'; } catch (e) { return false; } }"
# After the page has taken up `?q=`: drop it from the address, so that a reload does not ask again.
FORGET_QUERY_JS = """
() => {
  const url = new URL(location.href);
  if (url.searchParams.has('q')) { url.searchParams.delete('q'); history.replaceState(null, '', url.toString()); }
  return [];
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
