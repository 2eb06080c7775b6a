// `tessera sim`: run a scenario (bundled name or file) on a transport, print the
// summary table, and optionally write JSON results, a JSON-lines trace and SVG
// charts; or run a sweep in worker threads. A failure prints its replay command.
import * as fs from 'fs';
import * as path from 'path';
import { type Command, parseFlags, UsageError } from '../command';
import {
  bundledProfiles,
  bundledScenarios,
  InputError,
  loadProfile,
  loadScenario,
  loadSweep,
} from '../../simulator/load';
import { DEFAULT_SEED, runScenario } from '../../simulator/run';
import { parseSeed } from '../../simulator/rng';
import { describeRun, summaryTable } from '../../simulator/report';
import { latencyCdfSvg, sweepSvg, timelineSvg } from '../../simulator/svg';
import { runSweep } from '../../simulator/sweep';
import { cdfTitle } from '../../simulator/compare';
import type { SimResults } from '../../simulator/types';

const USAGE =
  'tessera sim <scenario|file.json> [--seed S] [--transport T | --profile FILE] [--compare T1,T2,...] [--trace FILE] [--json FILE] [--svg DIR] [--paranoid]\n' +
  '       tessera sim --sweep <sweep.json> [--json FILE] [--svg DIR] [--workers N]\n' +
  '       tessera sim --list';

function write(file: string, text: string): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, text);
}

async function sweep(file: string, flags: Record<string, string | boolean>): Promise<number> {
  const spec = loadSweep(file);
  const workers = typeof flags.workers === 'string' ? Number(flags.workers) : undefined;
  if (workers !== undefined && !(Number.isInteger(workers) && workers >= 1 && workers <= 64))
    throw new UsageError(`--workers takes an integer 1..64, not ${flags.workers}`);
  const result = await runSweep(spec, path.dirname(path.resolve(file)), {
    workers,
    progress: process.stderr.isTTY ? process.stderr : undefined,
  });
  const rows = result.points.map((p) => ({
    label: `${p.transport} ${Object.entries(p.params)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`,
    results: p.results,
  }));
  console.log(summaryTable(rows));
  if (typeof flags.json === 'string') {
    write(flags.json, JSON.stringify(result, null, 2) + '\n');
    console.log(`results: ${flags.json}`);
  }
  if (typeof flags.svg === 'string') {
    const field = spec.axes[0].field;
    for (const metric of spec.metrics ?? ['messagesPerSec', 'latencyP50Ns']) {
      const out = path.join(flags.svg, `${spec.name}-${metric}.svg`);
      write(out, sweepSvg(result.points, field, metric));
      console.log(`chart: ${out}`);
    }
  }
  const failed = result.points.filter((p) => !p.results.liveness.ok || p.results.monitors.violations.length > 0);
  for (const p of failed)
    console.error(
      `FAILED ${p.transport} ${JSON.stringify(p.params)}: ${p.results.liveness.detail} ${p.results.monitors.violations.map((v) => v.replay).join(' ')}`,
    );
  return failed.length ? 1 : 0;
}

export const command: Command = {
  name: 'sim',
  summary: 'Simulate a scenario on a transport profile: latency, throughput, wake-ups, syscalls, fairness, invariants',
  usage: USAGE,
  async run(argv: string[]): Promise<number> {
    const { flags, positional } = parseFlags(argv, {
      seed: 'string',
      profile: 'string',
      transport: 'string',
      compare: 'string',
      trace: 'string',
      json: 'string',
      svg: 'string',
      sweep: 'string',
      workers: 'string',
      list: 'boolean',
      paranoid: 'boolean',
    });
    try {
      if (flags.list) {
        console.log(`scenarios: ${bundledScenarios().join(', ')}\ntransports: ${bundledProfiles().join(', ')}`);
        return 0;
      }
      if (typeof flags.sweep === 'string') {
        if (positional.length > 0)
          throw new UsageError(
            `--sweep takes no scenario argument (the sweep file names it), got ${positional.join(' ')}`,
          );
        for (const f of ['seed', 'profile', 'transport', 'compare', 'trace', 'paranoid'] as const) {
          if (flags[f] !== undefined)
            throw new UsageError(`--${f} does not apply to --sweep (the sweep file gives seed and transports)`);
        }
        return await sweep(flags.sweep, flags);
      }
      if (flags.workers !== undefined) throw new UsageError('--workers applies to --sweep only');
      if (positional.length !== 1) throw new UsageError('give one scenario (a bundled name or a .json file)');
      const ref = positional[0];
      const seed = typeof flags.seed === 'string' ? flags.seed : DEFAULT_SEED;
      try {
        parseSeed(seed);
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      if (typeof flags.profile === 'string' && flags.compare)
        throw new UsageError('--profile and --compare do not combine');
      if (typeof flags.transport === 'string' && flags.compare)
        throw new UsageError('--transport and --compare do not combine');
      const scenario = loadScenario(ref);
      const transports =
        typeof flags.compare === 'string'
          ? flags.compare.split(',').filter(Boolean)
          : [typeof flags.transport === 'string' ? flags.transport : (scenario.transport ?? 'tessera_shm')];
      const runs: { label: string; results: SimResults }[] = [];
      let failed = false;
      for (const transport of transports) {
        const profileRef = typeof flags.profile === 'string' ? flags.profile : undefined;
        const profile = loadProfile(profileRef ?? transport);
        const out = runScenario({
          scenario,
          profile,
          seed,
          scenarioRef: ref,
          profileRef,
          trace: typeof flags.trace === 'string',
          timeline: typeof flags.svg === 'string',
          stateCheckEvery: flags.paranoid ? 1 : undefined,
        });
        runs.push({ label: profile.name, results: out.results });
        if (transports.length === 1) console.log(describeRun(out.results));
        if (out.trace && typeof flags.trace === 'string') {
          const file = transports.length > 1 ? flags.trace.replace(/(\.jsonl?)?$/, `.${profile.name}$1`) : flags.trace;
          write(file, out.trace.join('\n') + '\n');
          console.log(`trace: ${file} (${out.trace.length} lines)`);
        }
        if (out.failure) {
          failed = true;
          console.error(
            `\n${out.failure.kind === 'invariant' ? 'INVARIANT VIOLATED' : out.failure.kind === 'liveness' ? 'LIVENESS FAILED' : 'SCENARIO REJECTED'}: ${out.failure.message}`,
          );
          console.error(`replay: ${out.failure.replay}`);
        }
      }
      if (transports.length > 1) console.log(summaryTable(runs));
      if (typeof flags.json === 'string') {
        write(
          flags.json,
          JSON.stringify(runs.length === 1 ? runs[0].results : runs.map((r) => r.results), null, 2) + '\n',
        );
        console.log(`results: ${flags.json}`);
      }
      if (typeof flags.svg === 'string') {
        const cdf = path.join(flags.svg, `${scenario.name}-latency-cdf.svg`);
        write(cdf, latencyCdfSvg(runs, cdfTitle(scenario)));
        console.log(`chart: ${cdf}`);
        for (const r of runs) {
          const tl = path.join(flags.svg, `${scenario.name}-timeline-${r.label}.svg`);
          write(tl, timelineSvg(r.results, undefined, `Per-thread timeline: ${scenario.name} on ${r.label}`));
          console.log(`chart: ${tl}`);
        }
      }
      return failed ? 1 : 0;
    } catch (err) {
      if (err instanceof InputError) {
        console.error(`tessera sim: ${err.message}`);
        return 2;
      }
      throw err;
    }
  },
};
