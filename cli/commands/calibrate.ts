// `tessera calibrate`: measure this machine and write simulator profiles.
// The measurements are the benchmarks' (bench/calibration.ts: AF_UNIX baselines,
// the shm backend's bench, its cross-process rows, the broker's rows); each
// profile is fitted on the round trip (time, and CPU when measured; for a spinning
// transport between processes also without spinning) and the 64 B stream only;
// the RPC pool and the 64 KiB stream are the out-of-sample checks. The fitted profiles, the measurements and the check rows are written to
// --out (checked and created before anything is measured); the check table is printed.
// --measurements FILE skips measuring and fits to a measurements.json written earlier (or by hand).
// --install also writes the fitted profiles of the transports whose bundled profile is a
// calibration (INSTALLED_TRANSPORTS) over the bundled ones, for the repository's maintainers.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { UsageError, defineCommand } from '../command';
import { bool, choiceList, inputFile, integer, outputDir } from '../flags';
import { OutputDir } from '../output';
import { InputError, PROFILE_DIR, loadProfile } from '../../simulator/load';
import {
  adoptKernelCosts,
  checkPredictions,
  checkTable,
  fitProfile,
  summarize,
  summaryTable,
  type CheckRow,
  type Measurement,
} from '../../simulator/calibration';
import type { Profile } from '../../simulator/types';
import { CALIBRATED_TRANSPORTS, measureForCalibration, requireAddon } from '../../bench/calibration';

import { CALIBRATION_METHODS } from '../../simulator/calibration-methods';

/**
 * The transports whose bundled profile is the output of `tessera calibrate` (simulator/profiles/),
 * which --install replaces. The bundled af_unix and tessera_shm profiles come from baselines
 * measured by hand; their calibrations stay in simulator/calibration-results/.
 */
export const INSTALLED_TRANSPORTS: readonly string[] = CALIBRATION_METHODS.filter((m) => m.bundled).map(
  (m) => m.transport,
);

function readMeasurements(file: string): Measurement[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new InputError(`${file}: cannot read measurements (${(err as Error).message})`);
  }
  const list = Array.isArray(parsed) ? parsed : [parsed];
  list.forEach((m: Partial<Measurement>, i) => {
    const bad = (field: string) => new InputError(`${file}: invalid measurement at /${i}/${field}`);
    if (typeof m !== 'object' || m === null) throw bad('');
    if (typeof m.transport !== 'string') throw bad('transport');
    for (const k of [
      'rttNs',
      'oneWayMsgsPerSec',
      'rpcPoolCallsPerSec',
      'cpuNsPerRoundTrip',
      'sleepingRttNs',
      'largeOneWayMsgsPerSec',
      'largeRttNs',
      'lockHoldNsPerOp',
    ] as const) {
      const v = m[k];
      if (v !== undefined && v !== null && !(typeof v === 'number' && v > 0)) throw bad(k);
    }
    const w = m.streamWindowMessages;
    if (w !== undefined && !(Number.isInteger(w) && w >= 1 && w <= 1024)) throw bad('streamWindowMessages');
    if (m.backgroundCpus !== undefined) {
      if (typeof m.backgroundCpus !== 'object' || m.backgroundCpus === null) throw bad('backgroundCpus');
      for (const k of ['rtt', 'stream', 'pool', 'sleepingRtt', 'largeStream', 'largeRtt'] as const) {
        const v = m.backgroundCpus[k];
        if (v !== undefined && v !== null && !(typeof v === 'number' && v >= 0)) throw bad(`backgroundCpus/${k}`);
      }
    }
    if (!Array.isArray(m.sources)) m.sources = [`${file}`];
  });
  return list as Measurement[];
}

/**
 * Fit every measured transport (af_unix first: tessera_shm takes its kernel wake-up costs from
 * it) and check the predictions; then write the measurements, the profiles and the check rows,
 * only once all of them are computed.
 */
function fitAll(
  measurements: Measurement[],
  label: string,
  rounds: number,
  out: OutputDir,
  folder: string,
  log: (s: string) => void,
  install = false,
): CheckRow[] {
  const rows: CheckRow[] = [];
  const files: [string, unknown][] = [[`${folder}measurements.json`, measurements]];
  const ordered = [...measurements].sort(
    (a, b) => Number(b.transport === 'af_unix') - Number(a.transport === 'af_unix'),
  );
  let kernel: Profile | null = null;
  const fitted: Profile[] = [];
  for (const m of ordered) {
    log(
      `${m.transport}: fitting the profile (rtt ${m.rttNs?.toFixed(0) ?? '-'} ns, CPU per round trip ${m.cpuNsPerRoundTrip?.toFixed(0) ?? '-'} ns, stream ${m.oneWayMsgsPerSec?.toFixed(0) ?? '-'} msgs/s, background ${JSON.stringify(m.backgroundCpus ?? {})})...`,
    );
    const base = loadProfile(m.transport);
    if (kernel && m.transport === 'tessera_shm')
      adoptKernelCosts(base, kernel, `measured: the af_unix fit of the same run (${label})`);
    else if (m.transport === 'tessera_shm')
      log('  tessera_shm: no af_unix fit in this run: the kernel wake-up costs stay the bundled ones');
    const { profile, prediction } = fitProfile(base, m, label, rounds);
    if (m.transport === 'af_unix') kernel = profile;
    fitted.push(profile);
    files.push([`${folder}calibrated-${m.transport}.json`, profile]);
    rows.push(...checkPredictions(m, prediction));
  }
  files.push([`${folder}check.json`, rows]);
  for (const [name, value] of files) {
    const file = out.write(name, JSON.stringify(value, null, 2) + '\n');
    if (name.includes('calibrated-')) console.log(`wrote ${file}  (use: tessera sim pingpong --profile ${file})`);
  }
  console.log(`wrote ${out.path(`${folder}measurements.json`)} and ${out.path(`${folder}check.json`)}\n`);
  if (install)
    for (const p of fitted.filter((x) => INSTALLED_TRANSPORTS.includes(x.name))) {
      const file = path.join(PROFILE_DIR(), `${p.name}.json`);
      fs.writeFileSync(`${file}.tmp`, JSON.stringify(p, null, 2) + '\n');
      fs.renameSync(`${file}.tmp`, file);
      console.log(`installed ${file} (the bundled ${p.name} profile)`);
    }
  return rows;
}

/** One repetition's measurements, of every transport asked for. */
async function measureOnce(
  i: number,
  repeat: number,
  only: readonly string[],
  quick: boolean,
  shmResultsFile: string | undefined,
  log: (s: string) => void,
): Promise<Measurement[]> {
  if (os.loadavg()[0] > os.cpus().length * 0.75)
    log(`warning: load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} CPUs: measurements will be noisy`);
  if (repeat > 1)
    log(
      `--- run ${i + 1} of ${repeat} (load average ${os
        .loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')})`,
    );
  const measurements: Measurement[] = [];
  for (const transport of CALIBRATED_TRANSPORTS)
    if (only.length === 0 || only.includes(transport))
      measurements.push(await measureForCalibration(transport, { quick, log, shmResultsFile }));
  return measurements;
}

const FITTED =
  '\nFitted on the round trip (time, and CPU when measured; between processes also without spinning) and the 64 B one-way stream; the RPC pool and the 64 KiB stream are predicted out of sample.';

const labelNow = () =>
  `${os.hostname()} ${new Date().toISOString().slice(0, 16)}, ${os.cpus().length} CPUs, load ${os.loadavg()[0].toFixed(1)}`;

const flags = {
  out: outputDir('the folder for the measurements, the calibrated profiles and the check rows', {
    defaultText: 'calibration',
  }),
  only: choiceList(() => CALIBRATED_TRANSPORTS, 'measure and fit these transports only (comma-separated)', {
    value: 'TRANSPORT',
    noun: 'calibrated transport',
  }),
  install: bool(
    `also write the fitted ${INSTALLED_TRANSPORTS.join(' and ')} profiles over the bundled ones (simulator/profiles/)`,
  ),
  quick: bool('small sizes: a few seconds in all (noisier)'),
  'shm-json': inputFile(
    'FILE',
    "tessera_shm: read the shm bench's records (`npm run bench -- --json FILE`) instead of running it",
    {
      noun: 'shm bench results file',
    },
  ),
  measurements: inputFile('FILE', 'measure nothing: fit to a measurements.json written earlier (or by hand)', {
    noun: 'measurements file',
  }),
  rounds: integer('N', 'fitting rounds', { min: 1, max: 50, default: 5 }),
  repeat: integer('N', 'measure and fit N times (into run1, run2, ... with a summary.json)', {
    min: 1,
    max: 20,
    default: 1,
  }),
};

export const command = defineCommand({
  name: 'calibrate',
  summary:
    'Measure this machine (AF_UNIX baselines incl. an RPC pool, the shm bench, Tessera and the broker between processes) and write calibrated simulator profiles',
  usage: [
    `[--out DIR] [--only ${CALIBRATED_TRANSPORTS.join('|')},...] [--quick] [--shm-json FILE] [--rounds N] [--repeat N] [--install]`,
    '--measurements FILE [--out DIR] [--rounds N] [--install]',
  ],
  flags,
  notes: [
    'Exit status 0 when every prediction checked is within its tolerance, 1 when one is not (or nothing was measured), 2 for a usage error or an unusable input or output.',
  ],
  examples: [
    ['tessera calibrate --quick --only af_unix', 'a few seconds: the AF_UNIX profile of this machine'],
    [
      'tessera calibrate --only tessera_shm_processes,tessera_broker --install --out simulator/calibration-results/processes',
      'the profiles between processes (needs the native addon), installed as the bundled ones',
    ],
    ['tessera calibrate --repeat 3 --out /tmp/cal', 'three full runs and their spread'],
    ['tessera calibrate --measurements calibration/measurements.json --out /tmp/refit', 'refit earlier measurements'],
  ],
  plan({ flags: f }) {
    if (f.repeat > 1 && f.measurements !== undefined)
      throw new UsageError('--repeat measures again each time: not with --measurements');
    if (f.measurements !== undefined && (f.quick || f['shm-json'] !== undefined))
      throw new UsageError('--measurements measures nothing: not with --quick or --shm-json');
    if (f['shm-json'] !== undefined && f.only.length > 0 && !f.only.includes('tessera_shm'))
      throw new UsageError(`--shm-json gives tessera_shm records: not with --only ${f.only.join(',')}`);
    // The transports between processes need the native addon: say so before anything is measured.
    if (f.measurements === undefined)
      for (const t of CALIBRATED_TRANSPORTS) if (f.only.length === 0 || f.only.includes(t)) requireAddon(t);
    // Read and check a measurements file now, before the output folder is touched.
    const given = f.measurements === undefined ? undefined : readMeasurements(f.measurements);
    for (const m of given ?? []) loadProfile(m.transport);
    const out = f.out ?? new OutputDir('--out', 'calibration');
    const log = (s: string) => console.error(s);
    return async () => {
      // Each repetition measures every transport in turn (interleaved), then fits and checks it.
      const reps: CheckRow[][] = [];
      const loadAverages: number[] = [];
      for (let i = 0; i < f.repeat; i++) {
        loadAverages.push(os.loadavg()[0]);
        const measurements = given
          ? given.filter((m) => f.only.length === 0 || f.only.includes(m.transport))
          : await measureOnce(i, f.repeat, f.only, f.quick, f['shm-json'], log);
        if (measurements.length === 0) {
          log('nothing measured');
          return 1;
        }
        const rows = fitAll(
          measurements,
          labelNow(),
          f.rounds,
          out,
          f.repeat > 1 ? `run${i + 1}/` : '',
          log,
          f.install && i === f.repeat - 1,
        );
        console.log(checkTable(rows));
        reps.push(rows);
      }
      if (f.repeat > 1) {
        const summary = summarize(reps);
        const file = out.write(
          'summary.json',
          JSON.stringify({ runs: f.repeat, loadAverages, rows: summary }, null, 2) + '\n',
        );
        console.log(
          `\nover ${f.repeat} runs (1-min load average at each start: ${loadAverages.map((x) => x.toFixed(2)).join(', ')}); wrote ${file}\n`,
        );
        console.log(summaryTable(summary));
      }
      console.log(FITTED);
      return reps.some((rows) => rows.some((r) => r.ok === false)) ? 1 : 0;
    };
  },
});
