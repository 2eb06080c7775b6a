// A sweep worker thread: runs the points it is sent, one at a time.
import { parentPort } from 'worker_threads';
import { runScenario } from './run';
import type { SweepTask } from './sweep';

parentPort?.on('message', (task: SweepTask) => {
  const out = runScenario({ scenario: task.scenario, profile: task.profile, seed: task.seed });
  if (out.failure) {
    out.results.liveness = {
      ok: false,
      detail: `${out.failure.kind}: ${out.failure.message}; replay: ${out.failure.replay}`,
    };
  }
  parentPort!.postMessage({ index: task.index, results: out.results });
});
