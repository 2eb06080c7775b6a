/**
 * CLI: node dist/bench/baselines/run.js [--quick] [--only sab,net.stream] [--json]
 * Runs the IPC baselines and prints an aligned table (and the records as JSON with --json).
 */
import { formatSpreadTable, formatTable, GROUP_IDS, runBaselines } from './index';

function parseArgs(argv: string[]): { quick: boolean; only?: string[]; json: boolean } {
  let quick = false;
  let json = false;
  let only: string[] | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') quick = true;
    else if (a === '--json') json = true;
    else if (a === '--only') only = (argv[++i] ?? '').split(',').filter(Boolean);
    else if (a.startsWith('--only=')) only = a.slice(7).split(',').filter(Boolean);
    else if (a === '--help' || a === '-h') {
      console.log(
        `usage: node dist/bench/baselines/run.js [--quick] [--only id,...] [--json]\nids: ${GROUP_IDS.join(', ')}`,
      );
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  return { quick, only, json };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  const records = await runBaselines({ quick: args.quick, only: args.only, log: (l) => console.error(l) });
  const crossProcess = records.filter((r) => r.name.startsWith('xproc.'));
  const rest = records.filter((r) => !r.name.startsWith('xproc.'));
  if (rest.length > 0) console.log(formatTable(rest));
  if (crossProcess.length > 0) console.log(`\ncross-process baselines:\n${formatSpreadTable(crossProcess)}`);
  for (const r of records) if (r.skipped !== undefined) console.log(`skipped ${r.name} (${r.variant}): ${r.skipped}`);
  if (args.json) console.log(JSON.stringify(records, null, 2));
  console.error(`total ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exitCode = 1;
});
