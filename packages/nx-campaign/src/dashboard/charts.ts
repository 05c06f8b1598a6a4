/**
 * The run page's pictures as SVG (drawn on the server; no script): the Gantt chart of planned
 * against actual bars per stage, and the DAG, by stage or, at scale, by group.
 */
import { escapeXml, fitLabel, legendRow } from '../planning/gantt-svg';
import type { AttemptState, StageSummary } from '../store/record';
import { distinguishingLabels } from '../format/names';

const WIDTH = 1100;
const CHAR_W = 6.4;

export interface ActualBar {
  stage: string;
  state: AttemptState;
  /** ISO times; a live attempt has no end. */
  startedAt: string | null;
  endedAt: string | null;
}

export const STATE_COLOURS: Record<string, string> = {
  succeeded: '#2e7d32',
  running: '#1565c0',
  pending: '#90a4ae',
  submitted: '#90a4ae',
  held: '#f9a825',
  failed: '#c62828',
  timeout: '#ad1457',
  'out-of-memory': '#6a1b9a',
  'node-failure': '#4e342e',
  preempted: '#ef6c00',
  cancelled: '#616161',
  interrupted: '#616161',
  pruned: '#bdbdbd',
  unready: '#eceff1',
};

/**
 * One row per stage (at most `maxRows`, earliest first): the planned interval as an outline, the
 * actual one filled by state; times from the run's first start. Labels are what tells the
 * stages apart (the shared prefix of their names dropped).
 */
export function ganttPlannedActual(stages: StageSummary[], actual: ActualBar[], now = Date.now(), maxRows = 200): string {
  const byStage = new Map(actual.map((a) => [a.stage, a]));
  const t0 = Math.min(...actual.flatMap((a) => (a.startedAt ? [Date.parse(a.startedAt)] : [])), now);
  const act = (s: string) => {
    const a = byStage.get(s);
    if (!a?.startedAt) return undefined;
    return { start: (Date.parse(a.startedAt) - t0) / 1000, end: ((a.endedAt ? Date.parse(a.endedAt) : now) - t0) / 1000, state: a.state, live: !a.endedAt };
  };
  const names = stages.length ? stages.map((s) => s.name) : actual.map((a) => a.stage);
  const planned = new Map(stages.flatMap((s) => (s.planned ? [[s.name, s.planned] as const] : [])));
  const key = (n: string) => act(n)?.start ?? planned.get(n)?.start ?? Number.POSITIVE_INFINITY;
  const rows = [...names].sort((a, b) => key(a) - key(b)).slice(0, maxRows);
  const groupOf = new Map(stages.map((s) => [s.name, s.group]));
  const labels = distinguishingLabels(rows, (n) => groupOf.get(n) ?? '');
  const span = Math.max(1, ...rows.flatMap((n) => [act(n)?.end ?? 0, planned.get(n)?.end ?? 0]));
  const labelW = Math.min(260, 16 + CHAR_W * Math.max(4, ...rows.map((n) => labels.get(n)!.length)));
  const left = labelW, plotW = WIDTH - left - 20, rowH = rows.length > 60 ? 8 : 16, top = 26;
  const x = (t: number) => left + (t / span) * plotW;
  const parts: string[] = [];
  rows.forEach((n, i) => {
    const y = top + i * rowH;
    if (i % 2 === 0) parts.push(`<rect x="${left}" y="${y}" width="${plotW}" height="${rowH}" fill="#f5f5f5"/>`);
    if (rowH >= 12) parts.push(`<text x="${left - 6}" y="${y + rowH - 4}" text-anchor="end">${escapeXml(fitLabel(labels.get(n)!, labelW - 10))}</text>`);
    const p = planned.get(n);
    if (p) parts.push(`<rect class="planned" x="${x(p.start).toFixed(1)}" y="${y + 1}" width="${Math.max(1, x(p.end) - x(p.start)).toFixed(1)}" height="${rowH - 2}" fill="none" stroke="#37474f" stroke-dasharray="3 2"><title>${escapeXml(`${n}: planned ${fmt(p.start)} to ${fmt(p.end)}`)}</title></rect>`);
    const a = act(n);
    if (a) parts.push(`<rect class="actual" data-state="${a.state}" x="${x(a.start).toFixed(1)}" y="${y + 3}" width="${Math.max(1, x(a.end) - x(a.start)).toFixed(1)}" height="${rowH - 6}" fill="${STATE_COLOURS[a.state] ?? '#999'}"><title>${escapeXml(`${n}: ${a.state}, ${fmt(a.start)} to ${a.live ? 'now' : fmt(a.end)}`)}</title></rect>`);
  });
  const bottom = top + rows.length * rowH;
  const ticks: string[] = [];
  for (let i = 0; i <= 5; i++) {
    const t = (span * i) / 5, tx = x(t).toFixed(1);
    ticks.push(`<line x1="${tx}" y1="${top}" x2="${tx}" y2="${bottom}" stroke="#cfd8dc"/><text x="${tx}" y="${bottom + 14}" text-anchor="middle">${fmt(t)}</text>`);
  }
  const legend = legendRow([
    { swatch: `<rect width="12" height="10" fill="none" stroke="#37474f" stroke-dasharray="3 2"/>`, text: 'planned' },
    ...[...new Set(rows.flatMap((n) => act(n)?.state ?? []))].map((s) => ({ swatch: `<rect width="12" height="10" fill="${STATE_COLOURS[s] ?? '#999'}"/>`, text: `actual: ${s}` })),
  ], left, 5, WIDTH - 10);
  const actualSpan = Math.max(0, ...rows.map((n) => act(n)?.end ?? 0));
  const plannedSpan = Math.max(0, ...rows.map((n) => planned.get(n)?.end ?? 0));
  const notes = [
    ...(names.length > rows.length ? [`${names.length - rows.length} more stages not drawn (the first ${rows.length} by start)`] : []),
    // Declared runtimes are often far above what a small run takes: say so, or the bars look empty.
    ...(actualSpan > 0 && plannedSpan > 20 * actualSpan ? [`the run took ${fmt(actualSpan)} against ${fmt(plannedSpan)} planned from the declared runtimes: its actual bars are thin`] : []),
  ];
  const more = notes.map((t, i) => `<text x="${left}" y="${bottom + 30 + 14 * i}">${escapeXml(t)}</text>`).join('');
  const height = bottom + 24 + 14 * notes.length + (notes.length ? 6 : 0) + legend.extra;
  return `<svg xmlns="http://www.w3.org/2000/svg" class="gantt" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="11" role="img" aria-label="planned against actual">${legend.svg}<g transform="translate(0 ${legend.extra})">${parts.join('')}${ticks.join('')}${more}</g></svg>`;
}

function fmt(seconds: number): string {
  if (seconds < 600) return `${Math.round(seconds)}s`;
  if (seconds < 36000) return `${Math.floor(seconds / 60)}m${seconds % 60 >= 1 ? ` ${Math.round(seconds % 60)}s` : ''}`;
  return `${(seconds / 3600).toFixed(1)}h`;
}

export interface DagNode {
  id: string;
  label: string;
  /** State counts of the stages it stands for (one stage: one count). */
  counts: Record<string, number>;
  parents: string[];
}

/** Nodes of the run's DAG: each stage, or each group (a Rubin step, a pipeline) when there are more than `maxNodes`. */
export function dagNodes(stages: StageSummary[], stateOf: (stage: string) => string, maxNodes = 150): { nodes: DagNode[]; collapsed: boolean } {
  if (stages.length <= maxNodes) {
    const groupOf = new Map(stages.map((s) => [s.name, s.group]));
    const labels = distinguishingLabels(stages.map((s) => s.name), (n) => groupOf.get(n)!);
    return { nodes: stages.map((s) => ({ id: s.name, label: labels.get(s.name)!, counts: { [stateOf(s.name)]: 1 }, parents: s.parents })), collapsed: false };
  }
  const groupOf = new Map(stages.map((s) => [s.name, s.group]));
  const nodes = new Map<string, DagNode>();
  for (const s of stages) {
    const n = nodes.get(s.group) ?? nodes.set(s.group, { id: s.group, label: s.group, counts: {}, parents: [] }).get(s.group)!;
    const st = stateOf(s.name);
    n.counts[st] = (n.counts[st] ?? 0) + 1;
    for (const p of s.parents) {
      const g = groupOf.get(p)!;
      if (g !== s.group && !n.parents.includes(g)) n.parents.push(g);
    }
  }
  return { nodes: [...nodes.values()], collapsed: true };
}

/** A layered drawing: columns by depth (longest path from a root), a box per node coloured by its main state, an edge per parent. */
export function dagSvg(nodes: DagNode[]): string {
  const depth = new Map<string, number>();
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const depthOf = (id: string, seen = new Set<string>()): number => {
    if (depth.has(id)) return depth.get(id)!;
    if (seen.has(id)) return 0;
    seen.add(id);
    const d = Math.max(-1, ...byId.get(id)!.parents.filter((p) => byId.has(p)).map((p) => depthOf(p, seen))) + 1;
    depth.set(id, d);
    return d;
  };
  for (const n of nodes) depthOf(n.id);
  const columns: DagNode[][] = [];
  for (const n of nodes) (columns[depth.get(n.id)!] ??= []).push(n);
  const boxW = Math.min(180, Math.max(60, 12 + CHAR_W * Math.max(...nodes.map((n) => Math.min(26, n.label.length))))), boxH = 30, gapX = 46, gapY = 10;
  const pos = new Map<string, { x: number; y: number }>();
  columns.forEach((col, c) => col.forEach((n, r) => pos.set(n.id, { x: 10 + c * (boxW + gapX), y: 10 + r * (boxH + gapY) })));
  const width = 20 + columns.length * (boxW + gapX), height = 20 + Math.max(...columns.map((c) => c.length)) * (boxH + gapY);
  const edges = nodes.flatMap((n) => n.parents.filter((p) => pos.has(p)).map((p) => {
    const a = pos.get(p)!, b = pos.get(n.id)!;
    return `<path d="M${a.x + boxW} ${a.y + boxH / 2} C${a.x + boxW + gapX / 2} ${a.y + boxH / 2} ${b.x - gapX / 2} ${b.y + boxH / 2} ${b.x} ${b.y + boxH / 2}" fill="none" stroke="#90a4ae"/>`;
  }));
  const boxes = nodes.map((n) => {
    const { x, y } = pos.get(n.id)!;
    const total = Object.values(n.counts).reduce((a, b) => a + b, 0);
    const main = Object.entries(n.counts).sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'unready';
    const text = total > 1 ? `${n.label} (${n.counts.succeeded ?? 0}/${total})` : n.label;
    const dark = !['unready', 'pending', 'submitted', 'pruned', 'held'].includes(main);
    return `<g class="node" data-node="${escapeXml(n.id)}" data-state="${main}"><title>${escapeXml(`${n.id}: ${Object.entries(n.counts).map(([s, k]) => `${k} ${s}`).join(', ')}`)}</title><rect x="${x}" y="${y}" width="${boxW}" height="${boxH}" rx="4" fill="${STATE_COLOURS[main] ?? '#999'}" stroke="#455a64"/><text x="${x + 6}" y="${y + 19}" fill="${dark ? '#fff' : '#263238'}">${escapeXml(fitLabel(text, boxW - 10))}</text></g>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" class="dag" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11" role="img" aria-label="DAG">${edges.join('')}${boxes.join('')}</svg>`;
}
