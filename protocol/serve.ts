// The implementation's side of the stdio driver protocol, for drivers written
// in TypeScript: serves an in-process Driver over JSON lines (stdin -> stdout).
// Used by `tessera driver --impl <name>`. stdout carries protocol only.
// Every line gets exactly one answer: a line that cannot be read (not JSON, JSON
// but not an object, a schema violation, longer than the line bound) gets an
// `error` message naming what is wrong, with the request's id when it has a valid one.
import type { Readable, Writable } from 'stream';
import type { Completion, Operation } from '../spec/types';
import { protocolMismatch, type Driver } from './driver';
import type { DriverRequest, DriverResponse } from './wire';
import { readRequestLine } from './validate';
import { MAX_LINE_BYTES, readLines } from './lines';

export interface ServeOptions {
  /** The longest request line read (bytes; default MAX_LINE_BYTES). */
  maxLineBytes?: number;
}

export async function serveStdio(
  driver: Driver,
  input: Readable = process.stdin,
  output: Writable = process.stdout,
  log: (line: string) => void = (l) => process.stderr.write(l + '\n'),
  options: ServeOptions = {},
): Promise<void> {
  let outputBroken = false;
  const write = (msg: DriverResponse) => {
    if (!outputBroken) output.write(JSON.stringify(msg) + '\n');
  };
  let chain = Promise.resolve();
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const stop = () => {
    stopReading();
    input.pause();
    chain.then(() => finish());
  };
  // The suite went away (EPIPE): nobody reads our answers, so stop quietly.
  output.on('error', (err: NodeJS.ErrnoException) => {
    if (outputBroken) return;
    outputBroken = true;
    log(`the suite stopped reading the driver's output (${err.code ?? err.message}): stopping`);
    stop();
  });
  driver.onCompletion((completion: Completion) => write({ type: 'completion', completion }));

  async function perform(req: DriverRequest): Promise<void> {
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
        stop();
        break;
    }
  }

  async function handle(line: string): Promise<void> {
    const read = readRequestLine(line);
    if (!read.ok) {
      write({ type: 'error', id: read.id, message: `cannot read the request: ${read.message}` });
      return;
    }
    try {
      await perform(read.value);
    } catch (err) {
      write({ type: 'error', id: read.value.id, message: (err as Error)?.message ?? String(err) });
    }
  }

  const stopReading = readLines(
    input,
    {
      line(text) {
        if (text.trim() === '') return;
        chain = chain.then(() => handle(text));
      },
      overlong(head, maxLineBytes) {
        chain = chain.then(() =>
          write({
            type: 'error',
            id: null,
            message: `cannot read the request: the line is longer than ${maxLineBytes} bytes (it begins ${JSON.stringify(head)}); it was skipped`,
          }),
        );
      },
      end() {
        chain.then(() => finish());
      },
    },
    options.maxLineBytes ?? MAX_LINE_BYTES,
  );
  input.on('error', (err) => {
    log(`cannot read the requests: ${err.message}`);
    stop();
  });
  return finished;
}
