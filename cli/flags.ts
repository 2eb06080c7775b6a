// Flag definitions as data: each flag says its kind, its value's name, what it
// does, its default, and how its text becomes a checked value. A command's flags
// are one object of these (cli/commands/<name>.ts); the parser (cli/command.ts)
// and the help text are generated from them, so adding a flag with its help is
// one line: `bail: bool('stop at the first failure')`.
import * as fs from 'fs';
import { UsageError } from './usage';
import { OutputDir, OutputFile } from './output';
import { didYouMean } from './suggest';

export interface Flag<T> {
  /** How parseArgs reads it. */
  type: 'string' | 'boolean';
  /** The value's name in help: N, FILE, DIR, MS, CMD. */
  value?: string;
  description: string;
  /** The default as help shows it. */
  defaultText?: string;
  /** May be given more than once. */
  multiple?: boolean;
  /** A one-letter alias (-v). */
  short?: string;
  /** From every text given for the flag, in order (none when absent), to its value; throws UsageError. */
  read(texts: string[], flag: string): T;
}

/** The one text of a flag given at most once. */
export function once(texts: string[], flag: string): string | undefined {
  if (texts.length > 1) throw new UsageError(`${flag} is given ${texts.length} times; give it once`);
  return texts[0];
}

function show(text: string): string {
  return JSON.stringify(text.length > 60 ? text.slice(0, 60) + '...' : text);
}

export function bool(description: string): Flag<boolean> {
  return {
    type: 'boolean',
    description,
    read: (texts, flag) => once(texts, flag) !== undefined,
  };
}

interface TextOptions {
  /** Checks a given value; returns an error sentence (without the flag's name) or null. */
  check?: (text: string) => string | null;
}
export function text(value: string, description: string, o: TextOptions & { default: string }): Flag<string>;
export function text(value: string, description: string, o?: TextOptions): Flag<string | undefined>;
export function text(
  value: string,
  description: string,
  o: TextOptions & { default?: string } = {},
): Flag<string | undefined> {
  return {
    type: 'string',
    value,
    description,
    defaultText: o.default,
    read(texts: string[], flag: string) {
      const t = once(texts, flag);
      if (t === undefined) return o.default;
      if (t === '') throw new UsageError(`${flag} needs a non-empty ${value}`);
      const problem = o.check?.(t);
      if (problem) throw new UsageError(`${flag} ${problem}`);
      return t;
    },
  };
}

interface IntegerOptions {
  min: number;
  max: number;
  /** The default as help shows it, when it is not a plain number (e.g. "max(3, runs/25)"). */
  defaultText?: string;
  /** Also accept 0x-hex. */
  hex?: boolean;
}
/** Decimal (or 0x-hex) integer text, without sign games: "1e3", "1.0", " 5" and "" are refused. */
export function parseInteger(t: string, hex = false): number | null {
  if (/^-?[0-9]+$/.test(t)) return Number(t);
  if (hex && /^0x[0-9a-fA-F]+$/.test(t)) return Number(t);
  return null;
}
export function integer(value: string, description: string, o: IntegerOptions & { default: number }): Flag<number>;
export function integer(value: string, description: string, o: IntegerOptions): Flag<number | undefined>;
export function integer(
  value: string,
  description: string,
  o: IntegerOptions & { default?: number },
): Flag<number | undefined> {
  return {
    type: 'string',
    value,
    description: `${description}; ${o.min}..${o.max}`,
    defaultText: o.defaultText ?? (o.default === undefined ? undefined : String(o.default)),
    read(texts: string[], flag: string) {
      const t = once(texts, flag);
      if (t === undefined) return o.default;
      const n = parseInteger(t, o.hex);
      if (n === null || !Number.isSafeInteger(n) || n < o.min || n > o.max)
        throw new UsageError(
          `${flag} takes an integer ${o.min}..${o.max}${o.hex ? ' (decimal or 0x-hex)' : ''}, not ${show(t)}`,
        );
      return n;
    },
  };
}

interface ChoiceOptions {
  value?: string;
  /** The default as help shows it, when the value stays undefined. */
  defaultText?: string;
  /** What the choices are, in a message ("implementations"). */
  noun?: string;
}
export function choice<T extends string>(
  choices: () => readonly T[],
  description: string,
  o: ChoiceOptions & { default: T },
): Flag<T>;
export function choice<T extends string>(
  choices: () => readonly T[],
  description: string,
  o?: ChoiceOptions,
): Flag<T | undefined>;
export function choice<T extends string>(
  choices: () => readonly T[],
  description: string,
  o: ChoiceOptions & { default?: T } = {},
): Flag<T | undefined> {
  return {
    type: 'string',
    value: o.value ?? 'NAME',
    // A short list of choices is part of the help; a long one is a command away.
    get description() {
      const known = choices();
      return known.length <= 4 ? `${description}: ${known.join(', ')}` : description;
    },
    defaultText: o.defaultText ?? o.default,
    read(texts: string[], flag: string) {
      const t = once(texts, flag);
      if (t === undefined) return o.default;
      const known: readonly string[] = choices();
      if (!known.includes(t)) {
        const list =
          known.length <= 2
            ? known.join(' or ')
            : known.length <= 8
              ? `one of ${known.join(', ')}`
              : `one of the ${known.length} ${o.noun ?? 'choices'} (${known.slice(0, 6).join(', ')}, ...)`;
        throw new UsageError(`${flag} takes ${list}, not ${show(t)}${didYouMean(t, known)}`);
      }
      return t as T;
    },
  };
}

/** A file the command reads: it must exist and be a readable file (`noun` names it in messages). */
export function inputFile(value: string, description: string, o: { noun?: string } = {}): Flag<string | undefined> {
  return text(value, description, {
    check(file) {
      let st: fs.Stats | undefined;
      try {
        st = fs.statSync(file, { throwIfNoEntry: false });
      } catch (err) {
        return `${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
      }
      if (!st) return `${file}: no such ${o.noun ?? 'file'}`;
      if (!st.isFile()) return `${file}: not a file`;
      try {
        fs.accessSync(file, fs.constants.R_OK);
      } catch {
        return `${file}: not readable`;
      }
      return null;
    },
  });
}

/** A file the command writes; `-` is stdout. Checked and its folder created before the run. */
export function outputFile(description: string): Flag<OutputFile | undefined> {
  return {
    type: 'string',
    value: 'FILE',
    description: `${description}; - for stdout`,
    read(texts, flag) {
      const t = once(texts, flag);
      if (t === undefined) return undefined;
      if (t === '') throw new UsageError(`${flag} needs a file name (or - for stdout)`);
      return new OutputFile(flag, t === '-' ? null : t);
    },
  };
}

/** A folder the command writes several files into; created before the run. */
export function outputDir(description: string, o: { defaultText?: string } = {}): Flag<OutputDir | undefined> {
  return {
    type: 'string',
    value: 'DIR',
    description,
    defaultText: o.defaultText,
    read(texts, flag) {
      const t = once(texts, flag);
      if (t === undefined) return undefined;
      if (t === '') throw new UsageError(`${flag} needs a folder name`);
      if (t === '-') throw new UsageError(`${flag} writes several files into a folder: - (stdout) cannot hold them`);
      return new OutputDir(flag, t);
    },
  };
}

/**
 * A flag that may be given more than once, each time one or more comma-separated choices
 * (`--case a --case b,c`); every choice is checked, a mistyped one with a "did you mean".
 */
export function choiceList(
  choices: () => readonly string[],
  description: string,
  o: { value?: string; noun?: string } = {},
): Flag<string[]> {
  return {
    type: 'string',
    value: o.value ?? 'NAME',
    multiple: true,
    description,
    read(texts: string[], flag: string) {
      const known: readonly string[] = choices();
      const out: string[] = [];
      for (const text of texts) {
        const parts = text.split(',').map((p) => p.trim());
        if (parts.some((p) => p === ''))
          throw new UsageError(`${flag} needs a ${o.value ?? 'NAME'} (got ${show(text)})`);
        for (const p of parts) {
          if (!known.includes(p))
            throw new UsageError(`${flag}: no ${o.noun ?? 'such name'} ${show(p)}${didYouMean(p, known)}`);
          if (!out.includes(p)) out.push(p);
        }
      }
      return out;
    },
  };
}
