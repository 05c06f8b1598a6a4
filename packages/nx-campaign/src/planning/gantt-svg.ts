import { distinguishingLabels } from '../format/names';
import { formatDuration } from '../format/quantities';
import { compressHostlist } from '../sites/hostlist';
import type { RunPlan, StagePlan } from './plan-run';

/** Hand-written SVG: no dependency, and it opens in any browser. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

const WIDTH = 1200;
const FONT = 11;
/** Average glyph width of an 11px sans-serif label: labels wider than their bar are left out. */
const CHAR_W = 6.4;
const CRITICAL = '#d62728';
const PALETTE = ['#4e79a7', '#59a14f', '#9c755f', '#b07aa1', '#76b7b2', '#8cd17d', '#bab0ac', '#86bcb6'];
const TICK_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800];

function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/** Lanes within a node's row, so stages sharing a node at once do not overlap: greedy interval colouring. */
function laneAssignment(stages: StagePlan[], node: string): Map<string, number> {
  const lanesEnd: number[] = [];
  const lanes = new Map<string, number>();
  for (const s of stages.filter((x) => x.nodes.includes(node)).sort((a, b) => a.start - b.start || a.end - b.end)) {
    let lane = lanesEnd.findIndex((end) => end <= s.start);
    if (lane < 0) lane = lanesEnd.push(0) - 1;
    lanesEnd[lane] = s.end;
    lanes.set(s.name, lane);
  }
  return lanes;
}

/** The name, or its start and an ellipsis, in `width` px; '' when not even 4 characters fit. */
export function fitLabel(name: string, width: number): string {
  const chars = Math.floor(width / CHAR_W);
  if (chars >= name.length) return name;
  return chars >= 5 ? `${name.slice(0, chars - 1)}\u2026` : '';
}

/**
 * Legend items (a 12 px swatch, then its text) left to right from (x0, y0), wrapping to a new
 * line, 16 px down, before `maxX`: never off the edge. `extra`: the height the wrapping added.
 */
export function legendRow(items: { swatch: string; text: string }[], x0: number, y0: number, maxX: number): { svg: string; extra: number } {
  let x = x0, y = y0;
  const out: string[] = [];
  for (const it of items) {
    const w = 28 + it.text.length * CHAR_W;
    if (x + w > maxX && x > x0) {
      x = x0;
      y += 16;
    }
    out.push(`<g transform="translate(${x.toFixed(1)} ${y})">${it.swatch}<text x="16" y="10">${escapeXml(it.text)}</text></g>`);
    x += w;
  }
  return { svg: out.join(''), extra: y - y0 };
}

function tickStep(span: number): number {
  return TICK_STEPS.find((s) => span / s <= 10) ?? Math.ceil(span / 10 / 604800) * 604800;
}

/** A Gantt chart of a plan: one row per node used, one bar per stage, the critical path in red. */
export function ganttSvg(plan: RunPlan): string {
  const nodes = [...new Set(plan.stages.flatMap((s) => s.nodes))].sort(naturalCompare);
  const laneOf = new Map(nodes.map((n) => [n, laneAssignment(plan.stages, n)]));
  const laneCount = new Map(nodes.map((n) => [n, Math.max(1, ...[...laneOf.get(n)!.values()].map((l) => l + 1))]));
  const totalLanes = [...laneCount.values()].reduce((a, b) => a + b, 0);
  // 18px lanes while the chart stays under ~900px of rows; thinner (down to 2px) beyond.
  const laneH = Math.max(2, Math.min(18, Math.floor(900 / totalLanes)));
  const rowGap = laneH >= 10 ? 4 : 1;
  // Thin rows: label every k-th node only, so labels never overlap.
  const labelEvery = Math.ceil(12 / (laneH + rowGap));
  const labelW = Math.min(160, 12 + CHAR_W * Math.max(4, ...nodes.map((n) => n.length)));
  const left = labelW + 8, right = 24;
  const plotW = WIDTH - left - right;

  const deadline = plan.deadline;
  const showDeadline = deadline !== undefined && deadline.seconds <= plan.makespan * 1.5;
  const span = Math.max(plan.makespan, showDeadline ? deadline!.seconds : 0, 1);
  const x = (t: number) => left + (t / span) * plotW;

  const pipelines = [...new Set(plan.stages.map((s) => s.pipeline))];
  const colourOf = (s: StagePlan) => (s.critical ? CRITICAL : PALETTE[pipelines.indexOf(s.pipeline) % PALETTE.length]);

  // Legend: critical path, then one swatch per pipeline.
  const legendItems = [{ colour: CRITICAL, text: 'critical path' }, ...pipelines.map((p, i) => ({ colour: PALETTE[i % PALETTE.length], text: pipelines.length > 1 ? `pipeline ${p}` : 'other stages' }))];
  // Wrapped onto more lines before the right edge; the chart moves down by what they take.
  const legend = legendRow(legendItems.map((item) => ({ swatch: `<rect width="12" height="12" fill="${item.colour}"/>`, text: item.text })), left, 32, WIDTH - right);

  const parts: string[] = [];
  const top = 76 + legend.extra;
  let y = top;
  const rowY = new Map<string, number>();
  nodes.forEach((n, i) => {
    const h = laneCount.get(n)! * laneH;
    rowY.set(n, y);
    if (i % 2 === 0) parts.push(`<rect class="row" x="${left}" y="${y - rowGap / 2}" width="${plotW}" height="${h + rowGap}" fill="#f3f4f6"/>`);
    if (i % labelEvery === 0) parts.push(`<text class="node" x="${left - 6}" y="${y + h / 2 + 4}" text-anchor="end">${escapeXml(n)}</text>`);
    y += h + rowGap;
  });
  const plotBottom = y;

  // Time axis: grid lines and tick labels.
  const step = tickStep(span);
  const axis: string[] = [];
  for (let t = 0; t <= span + 1e-9; t += step) {
    const tx = x(t).toFixed(1);
    axis.push(`<line x1="${tx}" y1="${top - 4}" x2="${tx}" y2="${plotBottom}" stroke="#d1d5db" stroke-width="1"/>`);
    axis.push(`<line x1="${tx}" y1="${plotBottom}" x2="${tx}" y2="${plotBottom + 5}" stroke="#374151"/>`);
    axis.push(`<text x="${tx}" y="${plotBottom + 18}" text-anchor="middle">${t === 0 ? '0' : formatDuration(t)}</text>`);
  }
  axis.push(`<line x1="${left}" y1="${plotBottom}" x2="${left + plotW}" y2="${plotBottom}" stroke="#374151"/>`);
  axis.push(`<text x="${left + plotW / 2}" y="${plotBottom + 36}" text-anchor="middle" fill="#4b5563">time from the campaign start</text>`);

  const bars: string[] = [];
  const pipelineOf = new Map(plan.stages.map((s) => [s.name, s.pipeline]));
  const labels = distinguishingLabels(plan.stages.map((s) => s.name), (n) => pipelineOf.get(n)!);
  for (const s of plan.stages) {
    // A 1px gap at the end keeps back-to-back stages of one colour apart.
    const x0 = x(s.start), full = x(s.end) - x0, w = Math.max(1, full > 4 ? full - 1 : full);
    const fill = colourOf(s);
    const tip = `${s.name}${s.critical ? ' (critical path)' : ''}: ${compressHostlist(s.nodes)}, ${s.cores} cores, ${formatDuration(s.start)} to ${formatDuration(s.end)}${s.qos ? `, QoS ${s.qos}` : ''}`;
    const rects = s.nodes.map((n) => {
      const ry = rowY.get(n)! + laneOf.get(n)!.get(s.name)! * laneH;
      return `<rect x="${x0.toFixed(1)}" y="${ry}" width="${w.toFixed(1)}" height="${Math.max(1, laneH - (laneH >= 6 ? 1 : 0))}" fill="${fill}"${s.critical ? ' stroke="#7f1d1d" stroke-width="1"' : ''}/>`;
    });
    const first = s.nodes.slice().sort(naturalCompare)[0];
    const text = fitLabel(labels.get(s.name)!, w - 6);
    const label = text && laneH >= 12
      ? `<text x="${(x0 + 3).toFixed(1)}" y="${rowY.get(first)! + laneOf.get(first)!.get(s.name)! * laneH + laneH / 2 + 4}" fill="#fff">${escapeXml(text)}</text>`
      : '';
    bars.push(`<g class="bar${s.critical ? ' critical' : ''}" data-stage="${escapeXml(s.name)}"><title>${escapeXml(tip)}</title>${rects.join('')}${label}</g>`);
  }

  const deadlineMark = showDeadline
    ? `<line x1="${x(deadline!.seconds).toFixed(1)}" y1="${top - 8}" x2="${x(deadline!.seconds).toFixed(1)}" y2="${plotBottom}" stroke="#111827" stroke-width="1.5" stroke-dasharray="5 3"/>` +
      `<text x="${x(deadline!.seconds).toFixed(1)}" y="${top - 11}" text-anchor="${x(deadline!.seconds) > left + plotW - 60 ? 'end' : 'middle'}">deadline ${formatDuration(deadline!.seconds)}</text>`
    : '';


  const verdict = deadline ? `, deadline ${formatDuration(deadline.seconds)} ${deadline.met ? 'met' : 'missed'}` : '';
  const used = nodes.length, held = plan.settings.site.nodeClasses.reduce((n, c) => n + c.count, 0);
  const title = `${plan.run} on ${plan.settings.site.name} (${used} of ${held} node${held > 1 ? 's' : ''} used): makespan ${formatDuration(plan.makespan)}, lower bound ${formatDuration(plan.lowerBound)} (ratio ${plan.ratio.toFixed(2)})${verdict}`;
  const height = plotBottom + 48;
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="${FONT}">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${left}" y="20" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
    legend.svg,
    ...parts,
    ...axis,
    ...bars,
    deadlineMark,
    `</svg>`,
    '',
  ].join('\n');
}
