// The shape of one `tessera` sub-command (each lives in cli/commands/<name>.ts),
// its parsing and its help. A command is data: its flags (cli/flags.ts), usage
// lines, notes and examples; `plan` checks the arguments together and returns the
// run, touching nothing, so every usage error comes before anything happens.
// Flags are read by node:util parseArgs (tokens, non-strict), then checked here:
// unknown names get a "did you mean", a flag given twice or without its value is
// a usage error, and each value is converted by its flag's definition.
import { parseArgs } from 'node:util';
import { UsageError } from './usage';
import type { Flag } from './flags';
import { OutputDir, OutputFile } from './output';
import { didYouMean } from './suggest';

export { UsageError };

export type FlagSpecs = Record<string, Flag<any>>;
export type FlagValues<F extends FlagSpecs> = { [K in keyof F]: F[K] extends Flag<infer T> ? T : never };
export interface Args<F extends FlagSpecs> {
  flags: FlagValues<F>;
  /** The arguments that are not flags (a scenario, ...). */
  operands: string[];
}

/** What a command does once its arguments are checked; resolves to the exit code (0 only when all passed). */
export type Run = () => Promise<number>;

export interface CommandSpec<F extends FlagSpecs> {
  name: string;
  summary: string;
  /** What follows `tessera <name>` on each usage line. */
  usage: string[];
  /** The arguments that are not flags, when the command takes any. */
  operands?: { name: string; description: string; max: number };
  flags: F;
  /** Paragraphs after the options. */
  notes?: string[];
  /** [command line, what it does]. */
  examples: [string, string][];
  /** Check the arguments together (UsageError) and return the run; touches nothing. */
  plan(args: Args<F>): Run;
}
export type Command = CommandSpec<FlagSpecs>;

export function defineCommand<F extends FlagSpecs>(spec: CommandSpec<F>): Command {
  return spec as unknown as Command;
}

const HELP_FLAG: Flag<boolean> = {
  type: 'boolean',
  short: 'h',
  description: 'show this help',
  read: (texts) => texts.length > 0,
};

export type ParsedCommandLine = { help: true } | { help: false; args: Args<FlagSpecs> };

/** Read argv against the command's flags; throws UsageError. `--help` anywhere asks for help. */
export function parseCommandLine(command: Command, argv: string[]): ParsedCommandLine {
  const flags: FlagSpecs = { ...command.flags, help: HELP_FLAG };
  const names = Object.keys(flags);
  const options = Object.fromEntries(
    names.map((name) => [name, { type: flags[name].type, ...(flags[name].short ? { short: flags[name].short } : {}) }]),
  );
  const { tokens } = parseArgs({ args: argv, options, strict: false, allowPositionals: true, tokens: true });
  if (tokens.some((t) => t.kind === 'option' && t.name === 'help')) return { help: true };
  const texts = new Map<string, string[]>();
  const operands: string[] = [];
  for (const t of tokens) {
    if (t.kind === 'positional') operands.push(t.value);
    if (t.kind !== 'option') continue;
    if (!Object.hasOwn(flags, t.name))
      throw new UsageError(`unknown option ${t.rawName}${didYouMean(t.name, names, (n) => `--${n}`)}`);
    const flag = flags[t.name];
    const raw = `--${t.name}`;
    if (flag.type === 'boolean') {
      if (t.value !== undefined) throw new UsageError(`${raw} takes no value (got ${JSON.stringify(t.value)})`);
      texts.set(t.name, [...(texts.get(t.name) ?? []), 'true']);
      continue;
    }
    if (t.value === undefined) throw new UsageError(`${raw} needs a value${flag.value ? ` (${flag.value})` : ''}`);
    const looksLikeFlag = /^--?([A-Za-z][\w-]*)$/.exec(t.value);
    if (!t.inlineValue && looksLikeFlag && Object.hasOwn(flags, looksLikeFlag[1]))
      throw new UsageError(`${raw} needs a value${flag.value ? ` (${flag.value})` : ''}, not the option ${t.value}`);
    texts.set(t.name, [...(texts.get(t.name) ?? []), t.value]);
  }
  const max = command.operands?.max ?? 0;
  if (operands.length > max) {
    const extra = operands[max];
    throw new UsageError(
      `unexpected argument ${extra}${max > 0 ? ` (${command.name} takes ${max === 1 ? 'one' : max} ${command.operands!.name})` : ''}${didYouMean(extra, Object.keys(command.flags), (n) => `--${n}`)}`,
    );
  }
  const values: Record<string, unknown> = {};
  for (const [name, flag] of Object.entries(command.flags))
    values[name] = flag.read(texts.get(name) ?? [], `--${name}`);
  return { help: false, args: { flags: values as FlagValues<FlagSpecs>, operands } };
}

/** The outputs among a command's flag values. */
export function outputsOf(args: Args<FlagSpecs>): (OutputFile | OutputDir)[] {
  return Object.values(args.flags).filter(
    (v): v is OutputFile | OutputDir => v instanceof OutputFile || v instanceof OutputDir,
  );
}

export type Prepared = { help: true } | { help: false; run: Run; stdoutTaken: boolean };

/**
 * Parse, plan and prepare the outputs: everything but the run. Throws UsageError
 * or OutputError before anything happens (but the outputs' folders, created last).
 */
export function prepareCommand(command: Command, argv: string[]): Prepared {
  const parsed = parseCommandLine(command, argv);
  if (parsed.help) return { help: true };
  const run = command.plan(parsed.args);
  const outputs = outputsOf(parsed.args);
  const onStdout = outputs.filter((o): o is OutputFile => o instanceof OutputFile && o.isStdout);
  if (onStdout.length > 1)
    throw new UsageError(`only one output can be - (stdout): ${onStdout.map((o) => o.flag).join(' and ')} are`);
  for (const o of outputs) o.prepare();
  return { help: false, run, stdoutTaken: onStdout.length > 0 };
}

/** Prepare, then run; with an output on stdout (`-`), the command's other printing goes to stderr. */
export async function runCommand(command: Command, argv: string[]): Promise<number> {
  const prepared = prepareCommand(command, argv);
  if (prepared.help) {
    console.log(commandHelp(command));
    return 0;
  }
  if (!prepared.stdoutTaken) return prepared.run();
  const log = console.log;
  console.log = console.error;
  try {
    return await prepared.run();
  } finally {
    console.log = log;
  }
}

// ------------------------------------------------------------------ help

const WIDTH = 100;

/** Words of `text` in lines of at most `width` columns, each prefixed by `indent`. */
export function wrap(text: string, width: number, indent = ''): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(indent + line);
  return lines;
}

function flagLabel(name: string, flag: Flag<unknown>): string {
  return `${flag.short ? `-${flag.short}, ` : ''}--${name}${flag.value ? ` ${flag.value}` : ''}`;
}

/** Two columns: labels, and descriptions wrapped beside them. */
function table(rows: [string, string][]): string[] {
  const column = Math.min(30, Math.max(...rows.map(([label]) => label.length)) + 4);
  const out: string[] = [];
  for (const [label, text] of rows) {
    const body = wrap(text, WIDTH - column);
    const first = body.shift() ?? '';
    if (label.length + 4 > column) {
      out.push(`  ${label}`);
      body.unshift(first);
    } else out.push(`  ${label.padEnd(column - 2)}${first}`);
    for (const line of body) out.push(' '.repeat(column) + line);
  }
  return out;
}

/** `tessera <command> --help`: usage, what it does, every flag with its default, notes and examples. */
export function commandHelp(c: Command): string {
  const out = c.usage.map((u, i) => `${i === 0 ? 'usage: ' : '       '}tessera ${c.name} ${u}`);
  out.push('', ...wrap(c.summary, WIDTH));
  if (c.operands) out.push('', 'arguments:', ...table([[c.operands.name, c.operands.description]]));
  const flags: [string, string][] = Object.entries({ ...c.flags, help: HELP_FLAG }).map(([name, f]) => [
    flagLabel(name, f),
    `${f.description}${f.defaultText !== undefined ? ` (default: ${f.defaultText})` : ''}${f.multiple ? ' (repeatable)' : ''}`,
  ]);
  out.push('', 'options:', ...table(flags));
  for (const note of c.notes ?? []) out.push('', ...wrap(note, WIDTH));
  if (c.examples.length) {
    out.push('', 'examples:');
    for (const [line, what] of c.examples) out.push(...wrap(what, WIDTH, '  # '), `  ${line}`);
  }
  return out.join('\n');
}

/** The usage lines alone (after a usage error). */
export function usageLines(c: Command): string {
  return c.usage.map((u, i) => `${i === 0 ? 'usage: ' : '       '}tessera ${c.name} ${u}`).join('\n');
}
