// `tessera conformance`: run the conformance suite against an implementation,
// in-process (--impl) or over the stdio driver protocol (--driver "<command>").
import * as fs from 'fs';
import { type Command, UsageError, parseFlags } from '../command';
import { runSuite, formatReport } from '../../conformance/suite';
import { createStdioDriver } from '../../conformance/stdio';
import { reportValidator } from '../../conformance/report-schema';
import { implementationNamed, suiteDefaults } from './driver';
import type { Driver } from '../../protocol/driver';

function parseSeed(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new UsageError(`--seed must be an integer (decimal or 0x...), got "${text}"`);
  return n | 0;
}

function progressBar(): (fraction: number, label: string) => void {
  if (!process.stderr.isTTY) return () => {};
  let last = -1;
  return (fraction, label) => {
    const pct = Math.floor(fraction * 100);
    if (pct === last) return;
    last = pct;
    const width = 30;
    const filled = Math.round(fraction * width);
    process.stderr.write(
      `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(pct).padStart(3)}% ${label.padEnd(20)}`,
    );
    if (fraction >= 1) process.stderr.write('\r' + ' '.repeat(width + 30) + '\r');
  };
}

export const command: Command = {
  name: 'conformance',
  summary: 'Run the conformance suite (cases, model-based property, linearizability) against an implementation.',
  usage:
    'tessera conformance --impl <reference|...> | --driver "<command>" [--runs N] [--seed S] [--path P] [--property sequential|linearizability] [--cases-only | --case ID] [--concurrency K] [--concurrent-runs N] [--ops-per-client N] [--json FILE] [--timeout-ms MS] [--verbose]',
  async run(argv) {
    const { flags } = parseFlags(argv, {
      impl: 'string',
      driver: 'string',
      runs: 'string',
      seed: 'string',
      path: 'string',
      property: 'string',
      'cases-only': 'boolean',
      case: 'string',
      concurrency: 'string',
      'concurrent-runs': 'string',
      'ops-per-client': 'string',
      json: 'string',
      'timeout-ms': 'string',
      verbose: 'boolean',
    });
    if ((flags.impl === undefined) === (flags.driver === undefined))
      throw new UsageError('give exactly one of --impl and --driver');
    const runs = flags.runs !== undefined ? Number(flags.runs) : 100;
    if (!Number.isSafeInteger(runs) || runs < 1) throw new UsageError('--runs must be a positive integer');
    const seed = flags.seed !== undefined ? parseSeed(String(flags.seed)) : (Date.now() ^ (process.pid << 8)) | 0;
    const positive = (flag: string, min: number): number | undefined => {
      if (flags[flag] === undefined) return undefined;
      const n = Number(flags[flag]);
      if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`--${flag} must be an integer >= ${min}`);
      return n;
    };
    // --concurrency 1 (or 0) turns the concurrent phase off; by default an implementation's own default.
    const concurrencyFlag = positive('concurrency', 0);
    const concurrentRuns = positive('concurrent-runs', 1);
    const opsPerClient = positive('ops-per-client', 1);
    const property = flags.property as 'sequential' | 'linearizability' | undefined;
    if (property !== undefined && property !== 'sequential' && property !== 'linearizability')
      throw new UsageError('--property is sequential or linearizability');
    const timeoutMs = flags['timeout-ms'] !== undefined ? Number(flags['timeout-ms']) : 10_000;

    let createDriver;
    let driverLabel: string;
    let replayBase: string;
    let concurrency = concurrencyFlag ?? 1;
    let concurrent: { createDriver: () => Driver; driverLabel: string } | undefined;
    let completionGraceMs = flags.driver !== undefined ? 50 : 0;
    if (typeof flags.impl === 'string') {
      const impl = implementationNamed(flags.impl);
      createDriver = () => impl.createDriver();
      driverLabel = `in-process:${impl.name}`;
      replayBase = `npx tessera conformance --impl ${impl.name}`;
      const defaults = suiteDefaults(impl, concurrencyFlag);
      completionGraceMs = defaults.completionGraceMs;
      concurrency = defaults.concurrency;
      concurrent = defaults.concurrent;
    } else {
      const cmd = String(flags.driver);
      createDriver = () => createStdioDriver({ command: cmd, requestTimeoutMs: timeoutMs });
      driverLabel = cmd;
      replayBase = `npx tessera conformance --driver ${JSON.stringify(cmd)}`;
    }
    if (property) replayBase += ` --property ${property}`;

    const report = await runSuite({
      createDriver,
      driverLabel,
      replayBase,
      runs,
      seed,
      path: flags.path as string | undefined,
      property,
      casesOnly: flags['cases-only'] === true,
      caseId: flags.case as string | undefined,
      concurrency,
      concurrent,
      concurrentRuns,
      opsPerClient,
      completionGraceMs,
      progress: progressBar(),
    });
    const checked = reportValidator.check(report);
    if (!checked.ok)
      console.error(`warning: the report does not match ConformanceReport.json at ${checked.path}: ${checked.message}`);
    console.log(formatReport(report, { verbose: flags.verbose === true }));
    if (typeof flags.json === 'string') fs.writeFileSync(flags.json, JSON.stringify(report, null, 2) + '\n');
    return report.status === 'pass' ? 0 : 1;
  },
};
