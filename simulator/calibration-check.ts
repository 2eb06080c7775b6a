// The calibration check: does the simulator predict this machine?
//
//   node dist/simulator/calibration-check.js <measurements.json> [--profile FILE]...
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
import { checkPredictions, checkTable, predict, type CheckRow, type Measurement } from './calibration';

export function runCheck(measurements: Measurement[], profileFor: (transport: string) => string): CheckRow[] {
  const rows: CheckRow[] = [];
  for (const m of measurements) rows.push(...checkPredictions(m, predict(loadProfile(profileFor(m.transport)), m.rpcPool, false, m.backgroundCpus)));
  return rows;
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const file = args.find((a) => !a.startsWith('--'));
  if (!file) {
    console.error('usage: node dist/simulator/calibration-check.js <measurements.json> [--profile transport=FILE]...');
    process.exit(2);
  }
  const given = new Map<string, string>();
  args.forEach((a, i) => { if (a === '--profile') { const [t, f] = args[i + 1].split('='); given.set(t, f); } });
  const measurements = JSON.parse(fs.readFileSync(file, 'utf8')) as Measurement[];
  const dir = path.dirname(path.resolve(file));
  const rows = runCheck(measurements, (t) => {
    if (given.has(t)) return given.get(t)!;
    const calibrated = path.join(dir, `calibrated-${t}.json`);
    return fs.existsSync(calibrated) ? calibrated : t;
  });
  console.log(checkTable(rows));
  process.exitCode = rows.some((r) => r.ok === false) ? 1 : 0;
}
