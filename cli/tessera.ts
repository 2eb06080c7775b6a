// The `tessera` command: a thin front door over the sub-commands.
import * as fs from 'fs';
import * as path from 'path';
import { type Command, UsageError } from './command';

function loadCommands(): Command[] {
  const dir = path.join(__dirname, 'commands');
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.js'))
    .map((f) => (require(path.join(dir, f)) as { command: Command }).command)
    .filter(Boolean)
    .sort((a, b) => a.name.localeCompare(b.name));
}

export function help(commands: Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'tessera: a capability-based messaging protocol for local IPC',
    '',
    'usage: tessera <command> [options]',
    '',
    'commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    "Run `tessera <command> --help` for a command's options.",
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const commands = loadCommands();
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(help(commands));
    return name ? 0 : 2;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    console.error(`tessera: unknown command "${name}"\n\n${help(commands)}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(`usage: ${command.usage}\n\n${command.summary}`);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`tessera ${name}: ${err.message}\nusage: ${command.usage}`);
      return 2;
    }
    throw err;
  }
}
