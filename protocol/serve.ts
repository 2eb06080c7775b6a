// The implementation's side of the stdio driver protocol, for drivers written
// in TypeScript: serves an in-process Driver over JSON lines (stdin -> stdout).
// Used by `tessera driver --impl <name>`. stdout carries protocol only.
import * as readline from 'readline';
import type { Readable, Writable } from 'stream';
import type { Completion, Operation } from '../spec/types';
import { protocolMismatch, type Driver } from './driver';
import type { DriverResponse } from './wire';
import { wire } from './validate';

export async function serveStdio(
  driver: Driver,
  input: Readable = process.stdin,
  output: Writable = process.stdout,
  log: (line: string) => void = (l) => process.stderr.write(l + '\n'),
): Promise<void> {
  const write = (msg: DriverResponse) => output.write(JSON.stringify(msg) + '\n');
  driver.onCompletion((completion: Completion) => write({ type: 'completion', completion }));
  const rl = readline.createInterface({ input });
  let chain = Promise.resolve();
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });

  async function handle(line: string): Promise<void> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      write({ type: 'error', id: null, message: 'the request is not JSON' });
      return;
    }
    const checked = wire.request.check(parsed);
    if (!checked.ok) {
      const id = typeof (parsed as { id?: unknown })?.id === 'number' ? (parsed as { id: number }).id : null;
      write({
        type: 'error',
        id,
        message: `the request violates DriverRequest.json at "${checked.path}": ${checked.message}`,
      });
      return;
    }
    const req = checked.value;
    try {
      switch (req.type) {
        case 'init': {
          const info = await driver.init();
          if (req.protocolVersion !== info.protocolVersion) {
            // One clear message, on both sides: the suite shows it as the driver's error.
            const message = protocolMismatch(info.protocolVersion, req.protocolVersion);
            log(message);
            write({ type: 'error', id: req.id, message });
            break;
          }
          write({ type: 'init_ok', id: req.id, info });
          break;
        }
        case 'reset':
          write({ type: 'reset_ok', id: req.id, limits: await driver.reset(req.limits) });
          break;
        case 'invoke':
          // Completions this operation causes are written (by the listener) before its response.
          write({ type: 'invoke_ok', id: req.id, invocation: await driver.invoke(req.op as unknown as Operation) });
          break;
        case 'shutdown':
          await driver.close();
          write({ type: 'shutdown_ok', id: req.id });
          rl.close();
          break;
      }
    } catch (err) {
      write({ type: 'error', id: req.id, message: (err as Error)?.message ?? String(err) });
    }
  }

  rl.on('line', (line) => {
    if (line.trim() === '') return;
    chain = chain.then(() => handle(line));
  });
  rl.on('close', () => {
    chain.then(() => done());
  });
  return finished;
}
