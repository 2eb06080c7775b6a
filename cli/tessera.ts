// The `tessera` command: a thin front door over the sub-commands.
// Exit codes: 0 all passed, 1 something failed (a test, a check, an invariant),
// 2 the command could not do its job (a usage error, an unusable input or output).
import * as fs from 'fs';
import * as path from 'path';
import { type Command, UsageError, commandHelp, runCommand, usageLines, wrap } from './command';
import { OutputError } from './output';
import { didYouMean } from './suggest';
import { InputError } from '../simulator/load';
import { PROTOCOL_VERSION } from '../protocol/driver';

function loadCommands(): Command[] {
  const dir = path.join(__dirname, 'commands');
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.js'))
    .map((f) => (require(path.join(dir, f)) as { command: Command }).command)
    .filter(Boolean)
    .sort((a, b) => a.name.localeCompare(b.name));
}

export function version(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
    version: string;
  };
  return `tessera ${pkg.version} (driver protocol ${PROTOCOL_VERSION})`;
}

export function help(commands: Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'tessera: a capability-based messaging protocol for local IPC',
    '',
    'usage: tessera <command> [options]',
    '       tessera help <command>',
    '       tessera --version',
    '',
    'commands:',
    ...commands.flatMap((c) => {
      const [first, ...rest] = wrap(c.summary, 96 - width);
      return [`  ${c.name.padEnd(width)}  ${first}`, ...rest.map((l) => ' '.repeat(width + 4) + l)];
    }),
    '',
    "Run `tessera help <command>` (or `tessera <command> --help`) for a command's options, defaults and examples.",
    'Exit status: 0 when everything passed, 1 when something failed, 2 when the command could not run as asked.',
  ].join('\n');
}

function unknownCommand(name: string, commands: Command[]): number {
  console.error(
    `tessera: unknown command ${JSON.stringify(name)}${didYouMean(
      name,
      commands.map((c) => c.name),
    )}\nRun \`tessera --help\` for the commands.`,
  );
  return 2;
}

export async function main(argv: string[]): Promise<number> {
  const commands = loadCommands();
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V') {
    console.log(version());
    return 0;
  }
  if (name === undefined || name === '--help' || name === '-h') {
    (name === undefined ? console.error : console.log)(help(commands));
    return name === undefined ? 2 : 0;
  }
  if (name === 'help') {
    if (rest.length === 0) {
      console.log(help(commands));
      return 0;
    }
    const topic = commands.find((c) => c.name === rest[0]);
    if (!topic) return unknownCommand(rest[0], commands);
    console.log(commandHelp(topic));
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) return unknownCommand(name, commands);
  try {
    return await runCommand(command, rest);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(
        `tessera ${name}: ${err.message}\n${usageLines(command)}\nRun \`tessera help ${name}\` for its options.`,
      );
      return 2;
    }
    if (err instanceof OutputError || err instanceof InputError) {
      console.error(`tessera ${name}: ${err.message}`);
      return 2;
    }
    throw err;
  }
}

/** The status a process killed by SIGPIPE reports (128 + 13): what `tessera tour | head -1` exits with. */
export const EPIPE_STATUS = 141;
/** How long the process may linger after its command finished before it is ended. */
export const LINGER_MS = 10_000;

/**
 * The process around main (bin/tessera.js): a reader that goes away (EPIPE) ends it
 * quietly; SIGINT, SIGTERM and SIGHUP end it through process.exit, so the exit hooks
 * (which end stdio drivers' process groups) run; and when the command is done but
 * something still holds the event loop, it is ended after LINGER_MS, naming what held it.
 */
export async function runCli(argv: string[]): Promise<void> {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(EPIPE_STATUS);
      throw err;
    });
  }
  const signals: [NodeJS.Signals, number][] = [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ];
  for (const [signal, status] of signals) process.once(signal, () => process.exit(status));
  let code: number;
  try {
    code = await main(argv);
  } catch (err) {
    console.error((err as Error)?.stack ?? String(err));
    code = 2;
  }
  process.exitCode = code;
  setTimeout(() => {
    const held = process.getActiveResourcesInfo().filter((r) => r !== 'Timeout');
    console.error(
      `tessera: still running ${LINGER_MS / 1000} s after the command finished (${held.join(', ')}): exiting`,
    );
    process.exit(code);
  }, LINGER_MS).unref();
}
