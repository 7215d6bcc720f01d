/**
 * The self-contained flame graph page (flame.html): the views' trees as
 * JSON in the page, the script and styles inline, nothing fetched. Names
 * reach the page only as JSON text and are drawn with textContent, so a
 * hostile name shows as itself.
 */
import { readFileSync } from 'node:fs';
import { flameTree, type FlameNode } from './flame-tree.ts';
import type { FrameKind, WeightedStack } from './frames.ts';

export interface FlameView {
  label: string;
  stacks: WeightedStack[];
}

const KINDS: (FrameKind | 'root')[] = ['root', 'service', 'route', 'cpu', 'kernel', 'backend', 'other'];
/** Frames thinner than this share of their view are left out: no one can see them, and the page stays small. */
const MIN_SHARE = 1e-4;

const asset = (name: string) => readFileSync(new URL(`./flame-page/${name}`, import.meta.url), 'utf8');

type Packed = [string, number, number, Packed[]?];

function pack(node: FlameNode, min: number): Packed {
  const kids = node.children.filter((c) => c.value >= min).map((c) => pack(c, min));
  return kids.length ? [node.name, KINDS.indexOf(node.kind), node.value, kids] : [node.name, KINDS.indexOf(node.kind), node.value];
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON that can sit inside a <script> element: no '<' can close it. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

export function flameHtml(options: { title: string; views: FlameView[]; notes: string[] }): string {
  const views = options.views
    .map((v) => ({ label: v.label, tree: flameTree(v.stacks, v.label) }))
    .filter((v) => v.tree.value > 0)
    .map((v) => ({ label: v.label, tree: pack(v.tree, v.tree.value * MIN_SHARE) }));
  const title = escapeHtml(options.title);
  const notes = options.notes.map((n) => `<div>${escapeHtml(n)}</div>`).join('');
  if (views.length === 0) {
    return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title><style>${asset('page.css')}</style></head>
<body><header><h1>${title}</h1></header><div id="notes">${notes}</div>
<p id="empty">Nothing to draw: no CPU sample, kernel stage or backend wait was recorded while profiling.</p></body></html>
`;
  }
  return `<!doctype html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${title}</title><style>${asset('page.css')}</style></head>
<body>
<header>
  <h1>${title}</h1>
  <label>view <select id="view"></select></label>
  <button id="reset" type="button">reset zoom</button>
  <input id="search" type="search" placeholder="search frames" aria-label="search frames">
  <span id="matched"></span>
  <span class="legend"><span class="frame-key cpu" style="background:hsl(20,85%,62%)">CPU</span><span style="background:#7fa8e6">kernel</span><span style="background:#86c98b">backend</span><span style="background:#c9c9c9">other</span></span>
</header>
<div id="notes">${notes}</div>
<div id="graph"></div>
<div id="tip"></div>
<script type="application/json" id="wf-data">${scriptJson({ kinds: KINDS, views })}</script>
<script>${asset('page.js')}</script>
</body></html>
`;
}
