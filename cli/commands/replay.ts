// `tessera replay FILE --driver CMD`: replay a transcript that `tessera
// conformance --transcript FILE` (or --html DIR) wrote into a driver alone, and
// report the first response that differs from the recorded one. No model and no
// suite run: the driver can be started under a debugger.
import * as fs from 'fs';
import { UsageError, defineCommand } from '../command';
import { bool, integer, text } from '../flags';
import { parseTranscript, type TranscriptLine } from '../../conformance/transcript';
import { replayTranscript } from '../../conformance/replay';
import { MAX_TIMEOUT_MS, STDIO_DEFAULTS } from '../../conformance/stdio';

const flags = {
  driver: text('CMD', 'the driver to replay into: a shell command speaking the stdio protocol'),
  'timeout-ms': integer('MS', 'how long each request may wait for its response (raise it under a debugger)', {
    min: 1,
    max: MAX_TIMEOUT_MS,
    default: STDIO_DEFAULTS.startupTimeoutMs,
  }),
  verbose: bool('print every line as it goes to and comes from the driver'),
};

export const command = defineCommand({
  name: 'replay',
  summary:
    'Replay a conformance transcript into a driver alone and report the first response that differs from the recording.',
  usage: ['FILE --driver CMD [options]'],
  operands: {
    name: 'FILE',
    description: 'a transcript written by `tessera conformance --transcript FILE` or --html DIR',
    max: 1,
  },
  flags,
  notes: [
    'Each recorded request is written exactly as recorded, once the driver has answered the one before; responses are compared as JSON (key order aside), completions in the order they came.',
    'Exit status 0 when every response is as recorded, 1 at the first difference (or when the driver fails), 2 for a usage error or a file that is not a transcript.',
  ],
  examples: [
    [
      'tessera replay fail.txt --driver "./my-driver"',
      'does the driver still answer as it did when the suite failed it?',
    ],
    [
      'tessera replay fail.txt --driver "node --inspect-brk my-driver.js" --timeout-ms 3600000',
      'the same run, stepped through in a debugger',
    ],
  ],
  plan({ flags: f, operands }) {
    const file = operands[0];
    if (file === undefined) throw new UsageError('give the transcript FILE to replay');
    if (f.driver === undefined) throw new UsageError('give the --driver CMD to replay into');
    let lines: TranscriptLine[];
    try {
      lines = parseTranscript(fs.readFileSync(file, 'utf8'));
      for (const l of lines) JSON.parse(l.line);
    } catch (err) {
      throw new UsageError(`${file}: not a transcript: ${(err as Error).message}`);
    }
    if (!lines.some((l) => l.direction === '>')) throw new UsageError(`${file}: the transcript holds no request`);
    return async () => {
      const outcome = await replayTranscript(lines, {
        command: f.driver!,
        timeoutMs: f['timeout-ms'],
        onLine: f.verbose ? (d, line) => console.log(`${d} ${line}`) : undefined,
      });
      if (outcome.same) {
        console.log(`replayed ${outcome.requests} requests into ${f.driver}: every response as recorded`);
        return 0;
      }
      console.log(
        `replayed ${outcome.requests} requests into ${f.driver}; the first difference:\n${outcome.difference}`,
      );
      return 1;
    };
  },
});
