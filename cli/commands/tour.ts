import * as path from 'path';
import { defineCommand } from '../command';
import { bool, integer } from '../flags';
import { protocolTour } from '../tour';
import { processTour } from '../tour-processes';
import { runScenarioComparison } from '../../simulator/compare';
import { generateDocs, repositoryRoot } from '../docs';
import { formatReport, runSuite } from '../../conformance/suite';
import { implementationNamed, suiteDefaults } from './driver';
import { PROTOCOL_VERSION } from '../../protocol/driver';

export const command = defineCommand({
  name: 'tour',
  summary: 'The main job (npm start): the protocol story, a simulator comparison, and the docs',
  usage: ['[--skip-docs] [--runs N]'],
  flags: {
    'skip-docs': bool('do not regenerate the docs site at the end'),
    runs: integer('N', 'model-based property runs per bundled backend', { min: 1, max: 100_000, default: 40 }),
  },
  examples: [
    ['tessera tour', 'the whole story (what `npm start` runs)'],
    ['tessera tour --skip-docs --runs 10 | less', 'a shorter run, paged'],
  ],
  plan({ flags }) {
    return () => tour(flags.runs, flags['skip-docs']);
  },
});

async function tour(runs: number, skipDocs: boolean): Promise<number> {
  let status = 0;
  const heading = (n: number, text: string) => console.log(`\n${'='.repeat(100)}\n${n}. ${text}\n${'='.repeat(100)}`);

  heading(1, 'The protocol, told on the reference backend');
  const steps = await protocolTour();
  console.log(`\nThe story took ${steps} operations, each checked by the formal model.`);

  heading(
    2,
    `Conformance of the bundled backends (scenario cases + ${runs} model-based property runs, seed 1; shm also concurrently, one worker thread per peer)`,
  );
  for (const name of ['reference', 'shm']) {
    const impl = implementationNamed(name);
    const { protocolVersion } = await impl.createDriver().init();
    if (protocolVersion !== PROTOCOL_VERSION) {
      console.log(
        `${name}: speaks driver protocol ${protocolVersion}, the suite ${PROTOCOL_VERSION}; not run until it does.\n`,
      );
      continue;
    }
    const report = await runSuite({
      createDriver: impl.createDriver,
      driverLabel: `in-process:${name}`,
      replayBase: `npx tessera conformance --impl ${name}`,
      runs,
      seed: 1,
      ...suiteDefaults(impl),
      concurrentRuns: 2,
    });
    const text = formatReport(report);
    // The statistics table is long; the full report is one command away.
    console.log(text.replace(/situations reached[\s\S]*?\n\n/, '\n'));
    console.log(`full report: npx tessera conformance --impl ${name} --runs ${runs} --seed 1 --verbose\n`);
    if (report.status !== 'pass') status = 1;
  }

  heading(3, 'Between processes: two OS processes on one shm bus exchange a capability and a call');
  await processTour();

  heading(4, 'The simulator: call/reply vs send+receive, across transports (pingpong, 64 B, seed 0x5eed)');
  const comparison = runScenarioComparison(
    'pingpong',
    ['af_unix', 'binder_like', 'tessera_kernel', 'tessera_shm'],
    '0x5eed',
  );
  console.log(comparison.table);
  console.log(
    '\nWith a direct hand-off (binder_like, tessera_kernel), call/reply needs no scheduler wake-up and half the\n' +
      'system calls and context switches of send+receive; shared memory needs neither while peers spin.\n' +
      'Replay or vary it: npx tessera sim pingpong --transport af_unix --seed 0x5eed',
  );

  if (!skipDocs) {
    heading(5, 'The spec docs, generated from the sources of truth');
    const out = path.join(repositoryRoot(), 'docs');
    const { pages } = await generateDocs(out);
    console.log(`Generated ${pages} pages: open ${path.join(out, 'index.html')}`);
  }
  return status;
}
