/**
 * Lays out a {@link MachineGraph} with ELK (layered, hierarchical: compound states contain
 * their children, edges may cross levels) and renders a standalone SVG.
 *
 * The SVG references nothing outside itself (generic font families, inline styles) and is
 * byte-for-byte the same for the same machine, so generated charts can be committed and
 * checked for staleness. Every state is a `<g class="state" data-state="<path>">` (the
 * machine's root is `data-state=""`), so a page can highlight the current state with CSS.
 *
 * @example
 * const svg = await renderMachineSvg(machineGraph(coordinatorMachine));
 * writeFileSync('coordinator.svg', svg);
 */
import elkModule from 'elkjs/lib/elk.bundled.js';
import type { ELK as ElkApi, ElkExtendedEdge, ElkLabel, ElkNode } from 'elkjs/lib/elk-api.js';
import type { ChartEdge, ChartState, MachineGraph } from './machine-graph.ts';

const FONT = `ui-monospace, Menlo, Consolas, 'DejaVu Sans Mono', monospace`;
const TITLE_SIZE = 12;
const SMALL_SIZE = 10;
/** Advance of one monospace character, as a fraction of the font size. */
const CHAR_EM = 0.62;
const PAD_X = 10;
const PAD_Y = 6;
const LINE_GAP = 4;
const INITIAL_DOT = 10;

const COLORS = {
  stroke: '#475569',
  fill: '#f8fafc',
  compoundFill: '#eef2f7',
  rootFill: '#ffffff',
  text: '#0f172a',
  muted: '#475569',
  edge: '#64748b',
  error: '#b91c1c',
  always: '#7c3aed',
  done: '#047857',
} as const;

/** Text width estimate for a monospace font (no font metrics at hand, none needed). */
function textWidth(text: string, size: number): number {
  return Math.ceil(text.length * size * CHAR_EM);
}

/** The text lines a state shows and the box they need. */
export interface StateTextBlock {
  lines: Array<{ text: string; size: number; bold: boolean }>;
  width: number;
  height: number;
}

/** The text block a state shows: its name, then `do: …` (its invoke or entry effect), then internal transitions. */
function stateBlock(state: ChartState): StateTextBlock {
  const lines = [
    { text: state.key, size: TITLE_SIZE, bold: true },
    ...state.invokes.map((src) => ({ text: `do: ${src}`, size: SMALL_SIZE, bold: false })),
    ...state.internal.map((t) => ({ text: t, size: SMALL_SIZE, bold: false })),
  ];
  const width = Math.max(...lines.map((l) => textWidth(l.text, l.size))) + 2 * PAD_X;
  const height = lines.reduce((h, l) => h + l.size + LINE_GAP, 0) - LINE_GAP + 2 * PAD_Y;
  return { lines, width, height };
}

/** elkjs is CommonJS: Node hands over `module.exports` (the constructor) as the default. */
type ElkConstructor = new () => ElkApi;
const ELK: ElkConstructor =
  (elkModule as unknown as { default?: ElkConstructor }).default ??
  (elkModule as unknown as ElkConstructor);

/** ELK options shared by the top graph and every compound state. */
const LAYERED: Record<string, string> = {
  'elk.algorithm': 'layered',
  'elk.direction': 'DOWN',
  'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
  'elk.edgeRouting': 'ORTHOGONAL',
  'elk.edgeLabels.inline': 'false',
  'elk.layered.spacing.nodeNodeBetweenLayers': '36',
  'elk.spacing.nodeNode': '28',
  'elk.spacing.edgeLabel': '4',
  'elk.spacing.edgeEdge': '12',
  'elk.layered.spacing.edgeNodeBetweenLayers': '14',
  'elk.layered.nodePlacement.strategy': 'NETWORK_SIMPLEX',
  // Definition order decides which transitions point "back" (the seeded y below): the
  // initial state sits at the top and the chart reads like the machine's source.
  'elk.layered.cycleBreaking.strategy': 'INTERACTIVE',
  'elk.layered.mergeEdges': 'true',
};

const nodeId = (path: string): string => `s:${path}`;
const initialId = (path: string): string => `i:${path}`;

function toElkNode(
  state: ChartState,
  blocks: Map<string, StateTextBlock>,
  order: { next: number },
): ElkNode {
  const block = stateBlock(state);
  blocks.set(state.path, block);
  const seeded = { x: 0, y: order.next++ * 40 };
  if (state.children.length === 0) {
    return {
      id: nodeId(state.path),
      ...seeded,
      width: Math.max(block.width, 64),
      height: block.height,
    };
  }
  const children: ElkNode[] = [];
  const initial = state.children.find((c) => c.initial);
  if (initial)
    children.push({
      id: initialId(state.path),
      x: 0,
      y: order.next++ * 40,
      width: INITIAL_DOT,
      height: INITIAL_DOT,
    });
  for (const c of state.children) children.push(toElkNode(c, blocks, order));
  return {
    id: nodeId(state.path),
    ...seeded,
    children,
    layoutOptions: {
      ...LAYERED,
      'elk.padding': `[top=${block.height + 10},left=14,bottom=14,right=14]`,
    },
  };
}

function edgeLabel(edge: ChartEdge): ElkLabel {
  return { text: edge.label, width: textWidth(edge.label, SMALL_SIZE) + 6, height: SMALL_SIZE + 4 };
}

function collectInitialEdges(state: ChartState, out: ElkExtendedEdge[]): void {
  const initial = state.children.find((c) => c.initial);
  if (initial && state.children.length > 0) {
    out.push({
      id: `init:${state.path}`,
      sources: [initialId(state.path)],
      targets: [nodeId(initial.path)],
    });
  }
  for (const c of state.children) collectInitialEdges(c, out);
}

/**
 * The ELK input graph for a machine graph, plus the text block of every state (exported
 * for tests and for tinkering with layout options).
 *
 * @example
 * const { elk } = toElkGraph(machineGraph(stageMachine));
 * elk.children?.[0].id; // 's:' (the machine's root state)
 */
export function toElkGraph(graph: MachineGraph): {
  elk: ElkNode;
  blocks: Map<string, StateTextBlock>;
} {
  const blocks = new Map<string, StateTextBlock>();
  const rootNode = toElkNode(graph.root, blocks, { next: 0 });
  const edges: ElkExtendedEdge[] = [];
  collectInitialEdges(graph.root, edges);
  for (const e of graph.edges) {
    edges.push({
      id: `e:${e.id}`,
      sources: [nodeId(e.source)],
      targets: [nodeId(e.target)],
      labels: [edgeLabel(e)],
    });
  }
  return {
    blocks,
    elk: {
      id: 'graph',
      layoutOptions: {
        ...LAYERED,
        'elk.json.edgeCoords': 'ROOT',
        'elk.json.shapeCoords': 'ROOT',
        'elk.padding': '[top=8,left=8,bottom=8,right=8]',
      },
      children: [rootNode],
      edges,
    },
  };
}

function indexNodes(root: ElkNode): Map<string, ElkNode> {
  const byId = new Map<string, ElkNode>();
  const visit = (n: ElkNode): void => {
    byId.set(n.id, n);
    n.children?.forEach(visit);
  };
  visit(root);
  return byId;
}

/**
 * Runs ELK. In hierarchical mode ELK sizes a compound state by its children only (it
 * ignores a minimum size), so a compound whose header is wider than its content gets its
 * right padding widened by the difference and the layout runs again.
 */
async function layoutMachine(
  graph: MachineGraph,
): Promise<{ layout: ElkNode; blocks: Map<string, StateTextBlock> }> {
  const elk = new ELK();
  const { elk: input, blocks } = toElkGraph(graph);
  const inputById = indexNodes(input);
  for (let attempt = 0; ; attempt++) {
    const layout = await elk.layout(structuredClone(input));
    let widened = false;
    for (const [id, n] of indexNodes(layout)) {
      const path = id.startsWith('s:') ? id.slice(2) : null;
      const block = path === null ? undefined : blocks.get(path);
      const node = inputById.get(id);
      if (!block || !node?.children?.length) continue;
      const deficit = block.width + 8 - (n.width ?? 0);
      if (deficit > 0.5) {
        const right = 14 + Math.ceil(deficit) + (attempt === 0 ? 0 : 4 * attempt);
        node.layoutOptions = {
          ...node.layoutOptions,
          'elk.padding': `[top=${block.height + 10},left=14,bottom=14,right=${right}]`,
        };
        widened = true;
      }
    }
    if (!widened || attempt === 3) return { layout, blocks };
  }
}

/** Numbers in the SVG: at most one decimal, no trailing `.0` (stable across runs). */
function num(v: number): string {
  const r = Math.round(v * 10) / 10;
  return Object.is(r, -0) ? '0' : String(r);
}

function esc(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

function edgeColor(kind: ChartEdge['kind']): string {
  if (kind === 'error') return COLORS.error;
  if (kind === 'always') return COLORS.always;
  if (kind === 'done') return COLORS.done;
  return COLORS.edge;
}

/**
 * Lays out and renders `graph` as a standalone SVG document.
 *
 * @example
 * const svg = await renderMachineSvg(machineGraph(stageMachine));
 * svg.includes('data-state="busy"'); // true
 */
export async function renderMachineSvg(graph: MachineGraph): Promise<string> {
  const { layout, blocks } = await layoutMachine(graph);
  const byId = indexNodes(layout);
  const width = layout.width ?? 0;
  const height = layout.height ?? 0;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="machine-chart" data-machine="${esc(graph.machineId)}" ` +
      `width="${num(width)}" height="${num(height)}" viewBox="0 0 ${num(width)} ${num(height)}" font-family="${esc(FONT)}">`,
  );
  out.push(`<title>${esc(graph.machineId)} state chart</title>`);
  out.push(
    '<defs>' +
      Object.entries({
        edge: COLORS.edge,
        error: COLORS.error,
        always: COLORS.always,
        done: COLORS.done,
      })
        .map(
          ([k, c]) =>
            `<marker id="arrow-${k}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">` +
            `<path d="M0,0 L10,5 L0,10 z" fill="${c}"/></marker>`,
        )
        .join('') +
      '</defs>',
  );
  out.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);

  const drawState = (state: ChartState, depth: number): void => {
    const n = byId.get(nodeId(state.path));
    const block = blocks.get(state.path);
    if (!n || !block)
      throw new Error(`layout lost state '${state.path}' of machine '${graph.machineId}'`);
    const x = n.x ?? 0;
    const y = n.y ?? 0;
    const w = n.width ?? 0;
    const h = n.height ?? 0;
    const compound = state.children.length > 0;
    const fill = depth === 0 ? COLORS.rootFill : compound ? COLORS.compoundFill : COLORS.fill;
    out.push(
      `<g class="state state-${state.type}${compound ? ' compound' : ''}" data-state="${esc(state.path)}">`,
    );
    out.push(
      `<rect x="${num(x)}" y="${num(y)}" width="${num(w)}" height="${num(h)}" rx="${compound ? 8 : 6}" ` +
        `fill="${fill}" stroke="${COLORS.stroke}" stroke-width="1.2"/>`,
    );
    if (state.type === 'final') {
      out.push(
        `<rect x="${num(x + 3)}" y="${num(y + 3)}" width="${num(w - 6)}" height="${num(h - 6)}" rx="4" ` +
          `fill="none" stroke="${COLORS.stroke}" stroke-width="1"/>`,
      );
    }
    let ty = y + PAD_Y;
    for (const line of block.lines) {
      ty += line.size;
      const tx = compound ? x + PAD_X : x + w / 2;
      out.push(
        `<text x="${num(tx)}" y="${num(ty - 2)}" font-size="${line.size}"${line.bold ? ' font-weight="bold"' : ''}` +
          `${compound ? '' : ' text-anchor="middle"'} fill="${line.bold ? COLORS.text : COLORS.muted}">${esc(line.text)}</text>`,
      );
      ty += LINE_GAP;
    }
    if (compound) {
      out.push(
        `<line x1="${num(x)}" y1="${num(y + block.height + 2)}" x2="${num(x + w)}" y2="${num(y + block.height + 2)}" ` +
          `stroke="${COLORS.stroke}" stroke-width="0.6" stroke-dasharray="3 3"/>`,
      );
    }
    out.push('</g>');
    const dot = byId.get(initialId(state.path));
    if (dot) {
      out.push(
        `<circle class="initial" cx="${num((dot.x ?? 0) + INITIAL_DOT / 2)}" cy="${num((dot.y ?? 0) + INITIAL_DOT / 2)}" ` +
          `r="${INITIAL_DOT / 2}" fill="${COLORS.text}"/>`,
      );
    }
    for (const c of state.children) drawState(c, depth + 1);
  };
  drawState(graph.root, 0);

  const edgeKinds = new Map(graph.edges.map((e) => [`e:${e.id}`, e]));
  const labels: string[] = [];
  for (const e of layout.edges ?? []) {
    const chartEdge = edgeKinds.get(e.id);
    const kind = chartEdge
      ? chartEdge.kind === 'event' || chartEdge.kind === 'after'
        ? 'edge'
        : chartEdge.kind
      : 'edge';
    const color = chartEdge ? edgeColor(chartEdge.kind) : COLORS.text;
    for (const s of e.sections ?? []) {
      const pts = [s.startPoint, ...(s.bendPoints ?? []), s.endPoint];
      const d = pts.map((p, i) => `${i === 0 ? 'M' : 'L'}${num(p.x)},${num(p.y)}`).join(' ');
      out.push(
        `<path class="transition" data-edge="${esc(chartEdge?.id ?? e.id)}" d="${d}" fill="none" stroke="${color}" ` +
          `stroke-width="1.1"${chartEdge?.kind === 'always' ? ' stroke-dasharray="4 3"' : ''} marker-end="url(#arrow-${kind})"/>`,
      );
    }
    for (const l of e.labels ?? []) {
      const lx = l.x ?? 0;
      const ly = l.y ?? 0;
      labels.push(
        `<g class="transition-label"><rect x="${num(lx)}" y="${num(ly)}" width="${num(l.width ?? 0)}" height="${num(l.height ?? 0)}" ` +
          `fill="#ffffff" fill-opacity="0.85"/>` +
          `<text x="${num(lx + 3)}" y="${num(ly + SMALL_SIZE + 0.5)}" font-size="${SMALL_SIZE}" fill="${color}">${esc(l.text ?? '')}</text></g>`,
      );
    }
  }
  out.push(...labels);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
