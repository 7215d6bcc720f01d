// The flame graph page: draws one view of the fused profile, zooms into a
// frame on click, highlights frames matching a search, and shows a frame's
// time and share on hover. Every name is set as text, never as markup.
'use strict';
(() => {
  const data = JSON.parse(document.getElementById('wf-data').textContent);
  const KINDS = data.kinds;
  const ROW = 18;
  const graph = document.getElementById('graph');
  const tip = document.getElementById('tip');
  const viewSelect = document.getElementById('view');
  const search = document.getElementById('search');
  const matched = document.getElementById('matched');
  let view = data.views[0];
  let zoomPath = [];

  for (const [i, v] of data.views.entries()) {
    const o = document.createElement('option');
    o.value = String(i);
    o.textContent = v.label;
    viewSelect.append(o);
  }

  const name = (n) => n[0];
  const kind = (n) => KINDS[n[1]];
  const value = (n) => n[2];
  const kids = (n) => n[3] || [];
  const ms = (ns) => (ns / 1e6 >= 100 ? (ns / 1e6).toFixed(0) : (ns / 1e6).toFixed(2)) + ' ms';

  // A warm hue per function name, stable across views.
  const hue = (s) => {
    let h = 0;
    for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) >>> 0;
    return 5 + (h % 45);
  };

  function bar(node, depth, x, width, extra) {
    const el = document.createElement('div');
    el.className = `frame ${kind(node)}${extra ? ' ' + extra : ''}`;
    if (kind(node) === 'cpu') el.style.setProperty('--hue', String(hue(name(node))));
    el.style.left = `${x}px`;
    el.style.top = `${depth * ROW}px`;
    el.style.width = `${Math.max(width, 1)}px`;
    el.textContent = name(node);
    el.wfNode = node;
    graph.append(el);
    return el;
  }

  function draw() {
    graph.replaceChildren();
    const root = view.tree;
    const total = value(root);
    const chain = [root];
    for (const i of zoomPath) chain.push(kids(chain.at(-1))[i]);
    const focus = chain.at(-1);
    const W = graph.clientWidth || 1000;
    chain.slice(0, -1).forEach((n, d) => bar(n, d, 0, W, 'ancestor').wfPath = zoomPath.slice(0, d));
    let rows = chain.length;
    const layout = (node, depth, x, width, path) => {
      const el = bar(node, depth, x, width);
      el.wfPath = path;
      rows = Math.max(rows, depth + 1);
      let cx = x;
      kids(node).forEach((c, i) => {
        const w = (value(c) / value(node)) * width;
        if (w >= 0.5) layout(c, depth + 1, cx, w, [...path, i]);
        cx += w;
      });
    };
    layout(focus, chain.length - 1, 0, W, zoomPath);
    graph.style.height = `${rows * ROW + 4}px`;
    graph.dataset.total = String(total);
    highlight();
  }

  function highlight() {
    const term = search.value.trim().toLowerCase();
    let hit = 0;
    const counted = new Set();
    for (const el of graph.children) {
      const on = term !== '' && name(el.wfNode).toLowerCase().includes(term);
      el.classList.toggle('match', on);
      if (on && !el.classList.contains('ancestor')) {
        // Count a matching frame once, not again under a matching ancestor.
        const key = el.wfPath.join('.');
        if (![...counted].some((k) => key.startsWith(k + '.'))) hit += value(el.wfNode);
        counted.add(key);
      }
    }
    matched.textContent = term ? `matched: ${((hit / value(view.tree)) * 100).toFixed(1)} %` : '';
  }

  graph.addEventListener('click', (e) => {
    const el = e.target.closest('.frame');
    if (!el) return;
    zoomPath = el.wfPath;
    draw();
  });
  graph.addEventListener('mousemove', (e) => {
    const el = e.target.closest('.frame');
    if (!el) return void (tip.style.display = 'none');
    const n = el.wfNode;
    tip.textContent = `${name(n)}\n${ms(value(n))}, ${((value(n) / value(view.tree)) * 100).toFixed(1)} % of ${view.label}`;
    tip.style.whiteSpace = 'pre-wrap';
    tip.style.display = 'block';
    tip.style.left = `${Math.min(e.clientX + 12, window.innerWidth - tip.offsetWidth - 4)}px`;
    tip.style.top = `${e.clientY + 14}px`;
  });
  graph.addEventListener('mouseleave', () => (tip.style.display = 'none'));
  viewSelect.addEventListener('change', () => {
    view = data.views[Number(viewSelect.value)];
    zoomPath = [];
    draw();
  });
  search.addEventListener('input', highlight);
  document.getElementById('reset').addEventListener('click', () => {
    zoomPath = [];
    draw();
  });
  window.addEventListener('resize', draw);
  draw();
})();
