// State diagrams of the lifecycle machines (model/lifecycles.ts): DOT is
// written from each xstate machine definition and rendered to SVG by
// Graphviz compiled to WebAssembly (@viz-js/viz), offline and without a
// browser. Ids inside each SVG get the machine's prefix so several diagrams
// can share one page.
import { LIFECYCLES, type LifecycleName } from '../../model/lifecycles';

export interface LifecycleState {
  name: string;
  description: string;
  initial: boolean;
  final: boolean;
  /** event -> target state, in definition order. */
  on: [string, string][];
}

export interface Lifecycle {
  name: LifecycleName;
  id: string;
  states: LifecycleState[];
}

interface MachineConfig {
  id?: string;
  initial?: string;
  states?: Record<string, { on?: Record<string, string | { target?: string }>; type?: string; description?: string }>;
}

/** The lifecycles as plain data, read from the machines' definitions. */
export function readLifecycles(): Lifecycle[] {
  return (Object.keys(LIFECYCLES) as LifecycleName[]).map((name) => {
    const config = (LIFECYCLES[name] as unknown as { config: MachineConfig }).config;
    const states = Object.entries(config.states ?? {}).map(([state, node]) => ({
      name: state,
      description: node.description ?? '',
      initial: config.initial === state,
      final: node.type === 'final',
      on: Object.entries(node.on ?? {}).map(([event, t]) => [event, typeof t === 'string' ? t : t.target ?? state] as [string, string]),
    }));
    return { name, id: config.id ?? name, states };
  });
}

const quote = (s: string) => `"${s.replace(/["\\]/g, '\\$&')}"`;

const FONT = 'Helvetica,Arial,sans-serif';

export function lifecycleDot(lc: Lifecycle): string {
  const lines: string[] = [
    `digraph ${quote(lc.id)} {`,
    `  graph [rankdir=LR, bgcolor="transparent", pad="0.15", nodesep="0.35", ranksep="0.55", fontname=${quote(FONT)}];`,
    `  node [shape=box, style="rounded,filled", fillcolor="#eef2fb", color="#3b5bab", penwidth=1.2, fontname=${quote(FONT)}, fontsize=12, fontcolor="#14213d", height=0.42, margin="0.16,0.06"];`,
    `  edge [color="#5b6b84", fontname=${quote(FONT)}, fontsize=9.5, fontcolor="#334155", arrowsize=0.7, penwidth=1.1];`,
    `  "__start" [shape=circle, label="", width=0.14, height=0.14, style=filled, fillcolor="#14213d", color="#14213d"];`,
  ];
  for (const s of lc.states) {
    const attrs = [`tooltip=${quote(s.description || s.name)}`];
    if (s.final) attrs.push('peripheries=2', 'fillcolor="#f4f6f9"', 'color="#5b6b84"');
    lines.push(`  ${quote(s.name)} [${attrs.join(', ')}];`);
  }
  const initial = lc.states.find((s) => s.initial);
  if (initial) lines.push(`  "__start" -> ${quote(initial.name)} [tooltip="initial state"];`);
  for (const s of lc.states) {
    // One edge per target, listing every event that leads there.
    const targets = new Map<string, string[]>();
    for (const [event, target] of s.on) targets.set(target, [...(targets.get(target) ?? []), event]);
    for (const [target, events] of targets) {
      lines.push(`  ${quote(s.name)} -> ${quote(target)} [label=${quote(events.join('\n'))}, tooltip=${quote(`${s.name} → ${target} on ${events.join(', ')}`)}];`);
    }
  }
  lines.push('}');
  return lines.join('\n') + '\n';
}

type Viz = { renderString(dot: string, options: { format: string }): string };
let vizInstance: Promise<Viz> | null = null;

function viz(): Promise<Viz> {
  if (!vizInstance) vizInstance = (require('@viz-js/viz') as { instance(): Promise<Viz> }).instance();
  return vizInstance;
}

/** Render DOT to a standalone SVG document. */
export async function renderSvg(dot: string): Promise<string> {
  return (await viz()).renderString(dot, { format: 'svg' });
}

/** The SVG element alone, ids prefixed, ready to embed in a page. */
export function inlineSvg(svg: string, prefix: string, label: string): string {
  const start = svg.indexOf('<svg');
  return svg.slice(start)
    .replace(/<!--[\s\S]*?-->\n?/g, '')
    .replace(/\bid="([^"]+)"/g, (_m, id: string) => `id="${prefix}-${id}"`)
    .replace(/<svg /, `<svg class="diagram" role="img" aria-label="${label.replace(/"/g, '&quot;')}" `)
    .trim();
}
