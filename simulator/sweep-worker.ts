// A sweep worker thread: runs the points it is sent, one at a time.
import { parentPort } from 'worker_threads';
import { runTask } from './run';
import type { SweepTask } from './sweep';

parentPort?.on('message', (task: SweepTask) => {
  parentPort!.postMessage({ index: task.index, results: runTask(task) });
});
