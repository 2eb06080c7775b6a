// One scenario on several transports, side by side: the tour's table and the
// numbers behind the seed's claims (call/reply with hand-off spares wake-ups and
// switches; shared memory beats AF_UNIX).
import type { Scenario, SimResults } from './types';
import { loadProfile, loadScenario } from './load';
import { DEFAULT_SEED, runScenario } from './run';
import { summaryTable, type LabelledResults } from './report';
import { latencyCdfSvg } from './svg';

export interface Comparison {
  table: string;
  results: SimResults[];
}

/**
 * Run a bundled scenario (or a scenario object) on each transport with one seed.
 * For `pingpong`, both call/reply and send+receive are run on every transport.
 */
export function runScenarioComparison(
  name: string | Scenario,
  transports: string[],
  seed: string | number = '0x5eed',
): Comparison {
  const base = typeof name === 'string' ? loadScenario(name) : name;
  const variants: { label: string; scenario: Scenario }[] = [];
  if (base.workload.kind === 'pingpong') {
    for (const mode of ['call', 'send-receive'] as const) {
      variants.push({
        label: mode === 'call' ? 'call/reply' : 'send+receive',
        scenario: { ...base, workload: { ...base.workload, mode } },
      });
    }
  } else {
    variants.push({ label: '', scenario: base });
  }
  const rows: { label: string; results: SimResults }[] = [];
  for (const v of variants) {
    for (const transport of transports) {
      const out = runScenario({ scenario: v.scenario, profile: loadProfile(transport), seed });
      if (out.failure)
        throw new Error(
          `${v.scenario.name} on ${transport} failed: ${out.failure.message}\nreplay: ${out.failure.replay}`,
        );
      rows.push({ label: v.label ? `${transport} ${v.label}` : transport, results: out.results });
    }
  }
  rows.sort((a, b) => a.label.localeCompare(b.label));
  return { table: summaryTable(rows), results: rows.map((r) => r.results) };
}

/** The title of a scenario's latency CDF chart (the CLI's --svg and the docs use the same). */
export function cdfTitle(scenario: Scenario): string {
  return `Latency CDF: ${scenario.name}`;
}

/**
 * One scenario on each transport and its latency CDF chart: byte for byte what
 * `tessera sim <name> --compare T1,T2,... --seed S --svg DIR` writes as <name>-latency-cdf.svg
 * (the docs embed it; a test holds the two equal). Deterministic: same inputs, same bytes.
 */
export function latencyComparison(
  name: string,
  transports: string[],
  seed: string = DEFAULT_SEED,
): { svg: string; runs: LabelledResults[]; scenario: Scenario } {
  const scenario = loadScenario(name);
  const runs: LabelledResults[] = transports.map((t) => {
    const profile = loadProfile(t);
    const out = runScenario({ scenario, profile, seed, scenarioRef: name });
    if (out.failure) throw new Error(`${name} on ${t} failed: ${out.failure.message}\nreplay: ${out.failure.replay}`);
    return { label: profile.name, results: out.results };
  });
  return { svg: latencyCdfSvg(runs, cdfTitle(scenario)), runs, scenario };
}
