/** Orchestration helper: start a group of workers, collect each one's result message. */
import { Worker } from 'worker_threads';
import { siblingEntry } from './common';

export interface WorkerSpec {
  /** Entry base name next to this module, e.g. "sab-worker". */
  entry: string;
  workerData: unknown;
  transferList?: import('worker_threads').TransferListItem[];
}

/**
 * Start all workers, wait for each to post exactly one result message and exit. If one fails or
 * the timeout passes, all are terminated (a peer blocked in Atomics.wait would otherwise hang).
 * `onStarted` receives the Worker objects (e.g. to talk to them) once all have been created.
 */
export function runWorkerGroup<T>(
  specs: WorkerSpec[],
  timeoutMs: number,
  onStarted?: (ws: Worker[]) => void,
): Promise<T[]> {
  return new Promise<T[]>((resolve, reject) => {
    const results: (T | undefined)[] = specs.map(() => undefined);
    const gotResult = specs.map(() => false);
    const exited = specs.map(() => false);
    let settled = false;
    const workers: Worker[] = [];
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      for (const w of workers) void w.terminate();
      reject(err);
    };
    const check = () => {
      if (settled) return;
      if (exited.every(Boolean)) {
        if (!gotResult.every(Boolean)) return fail(new Error('a bench worker exited without a result'));
        settled = true;
        clearTimeout(timer);
        resolve(results as T[]);
      }
    };
    const timer = setTimeout(() => fail(new Error(`bench workers timed out after ${timeoutMs} ms`)), timeoutMs);
    specs.forEach((spec, i) => {
      const { file, execArgv } = siblingEntry(__dirname, spec.entry);
      const w = new Worker(file, { workerData: spec.workerData, transferList: spec.transferList, execArgv });
      workers.push(w);
      w.on('message', (m: { result?: T; error?: string }) => {
        if (m && typeof m === 'object' && 'error' in m && m.error !== undefined)
          return fail(new Error(`${spec.entry}: ${m.error}`));
        if (m && typeof m === 'object' && 'result' in m) {
          results[i] = m.result;
          gotResult[i] = true;
        }
      });
      w.on('error', (e) => fail(e instanceof Error ? e : new Error(String(e))));
      w.on('exit', (code) => {
        exited[i] = true;
        if (code !== 0 && !settled) return fail(new Error(`${spec.entry} exited with code ${code}`));
        check();
      });
    });
    if (onStarted) onStarted(workers);
  });
}
