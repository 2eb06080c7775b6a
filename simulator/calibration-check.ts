// The calibration check: does the simulator predict this machine?
//
//   node dist/simulator/calibration-check.js <measurements.json>... [--profile transport=FILE]... [--json OUT]
//
// <measurements.json> is what `tessera calibrate` wrote (a list of Measurement);
// each transport is checked with the profile given for it (by default the
// calibrated profile `tessera calibrate` wrote next to it, else the bundled one).
// Prints predicted vs measured call/reply round trip (and its CPU time, when
// measured), one-way throughput and RPC-pool throughput, and exits 1 when a
// measured figure is off by more than 25%. The pool is the out-of-sample row.
import * as fs from 'fs';
import * as path from 'path';
import { loadProfile } from './load';
import {
  checkPredictions,
  checkTable,
  predict,
  shapeOf,
  summarize,
  summaryTable,
  type CheckRow,
  type Measurement,
} from './calibration';

export function runCheck(measurements: Measurement[], profileFor: (transport: string) => string): CheckRow[] {
  const rows: CheckRow[] = [];
  for (const m of measurements)
    rows.push(
      ...checkPredictions(
        m,
        predict(loadProfile(profileFor(m.transport)), m.rpcPool, false, m.backgroundCpus, shapeOf(m)),
      ),
    );
  return rows;
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const files = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--profile' && args[i - 1] !== '--json');
  if (files.length === 0) {
    console.error(
      'usage: node dist/simulator/calibration-check.js <measurements.json>... [--profile transport=FILE]... [--json OUT]',
    );
    process.exit(2);
  }
  const given = new Map<string, string>();
  args.forEach((a, i) => {
    if (a === '--profile') {
      const [t, f] = args[i + 1].split('=');
      given.set(t, f);
    }
  });
  // Each file is checked with the profiles calibrated next to it (else --profile, else the bundled ones).
  const reps: CheckRow[][] = files.map((file) => {
    const measurements = JSON.parse(fs.readFileSync(file, 'utf8')) as Measurement[];
    const dir = path.dirname(path.resolve(file));
    const rows = runCheck(measurements, (t) => {
      if (given.has(t)) return given.get(t)!;
      const calibrated = path.join(dir, `calibrated-${t}.json`);
      return fs.existsSync(calibrated) ? calibrated : t;
    });
    console.log(
      `${file} (background load, CPUs: ${measurements.map((m) => `${m.transport} ${JSON.stringify(m.backgroundCpus ?? {})}`).join('; ')})`,
    );
    console.log(checkTable(rows) + '\n');
    return rows;
  });
  const summary = files.length > 1 ? summarize(reps) : null;
  if (summary) console.log(`over ${files.length} runs:\n${summaryTable(summary)}`);
  const json = args.indexOf('--json');
  if (json >= 0 && args[json + 1])
    fs.writeFileSync(args[json + 1], JSON.stringify({ runs: reps, ...(summary ? { summary } : {}) }, null, 2) + '\n');
  process.exitCode = reps.some((rows) => rows.some((r) => r.ok === false)) ? 1 : 0;
}
