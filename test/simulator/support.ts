// Helpers of the simulator's command tests: run `tessera` in this process and
// capture what it prints; temporary folders.
import { main } from '../../cli/tessera';

/** Run the tessera command in this process; what it printed, and its exit code. */
export async function tessera(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...a: unknown[]) => out.push(a.join(' '));
  console.error = (...a: unknown[]) => err.push(a.join(' '));
  try {
    const code = await main(argv);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
  }
}
