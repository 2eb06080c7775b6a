// The shape of one `tessera` sub-command. Each lives in cli/commands/<name>.ts.
export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** Returns the process exit code: 0 only when everything passed. */
  run(argv: string[]): Promise<number>;
}

/** A small, strict flag parser: --flag value, --flag=value, --bool; unknown flags are errors. */
export function parseFlags(
  argv: string[],
  spec: Record<string, 'string' | 'boolean'>,
): { flags: Record<string, string | boolean>; positional: string[] } {
  const flags: Record<string, string | boolean> = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const kind = spec[name];
    if (!kind) throw new UsageError(`unknown option --${name}`);
    if (kind === 'boolean') {
      flags[name] = true;
      continue;
    }
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    flags[name] = value;
  }
  return { flags, positional };
}

export class UsageError extends Error {}
