// Fuzzing the command line: random argv for every command (right, mistyped and
// unknown flag names; values at and past every bound; paths that cannot be
// written; stray operands), through everything the CLI does before a run:
// parse, plan, output checks. Nothing may escape but a usage, input or output
// error. Then whole `tessera sim` runs with random flags: exit 0, 1 or 2, never
// a throw, and a usage error writes nothing. TESSERA_LONG=1 runs many more.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import fc from 'fast-check';
import { UsageError, prepareCommand, type Command } from '../../cli/command';
import { OutputError } from '../../cli/output';
import { InputError, bundledProfiles, bundledScenarios } from '../../simulator/load';
import { CASES } from '../../conformance/cases';
import { IMPLEMENTATION_NAMES } from '../../cli/commands/driver';
import { ROOT, tesseraHere } from './support';
import { tempDirs } from '../helpers';

const LONG = process.env.TESSERA_LONG === '1';
const COMMANDS = ['calibrate', 'conformance', 'docs', 'driver', 'sim', 'tour'];
const commandNamed = (name: string): Command =>
  (require(path.join(ROOT, 'dist', 'cli', 'commands', `${name}.js`)) as { command: Command }).command;

/** The kind of a usage error, from its sentence. */
function usageKind(message: string): string {
  const kinds: [RegExp, string][] = [
    [/^unknown option/, 'unknown option'],
    [/needs a (value|non-empty|file name|folder name)/, 'missing value'],
    [/takes no value/, 'value for a switch'],
    [/takes an integer/, 'integer out of range'],
    [/takes (one of|\S+ or \S+)/, 'not a known name'],
    [/is given \d+ times/, 'given twice'],
    [/^unexpected argument/, 'unexpected argument'],
    [/only one output/, 'two outputs on stdout'],
    [/no such|not a file|cannot read|not readable/, 'unreadable input file'],
    [/seed/, 'bad seed'],
  ];
  return kinds.find(([re]) => re.test(message))?.[1] ?? 'flag combination';
}

class Tally {
  readonly kinds = new Map<string, number>();
  inputs = 0;
  crashes: string[] = [];
  add(kind: string): void {
    this.inputs++;
    this.kinds.set(kind, (this.kinds.get(kind) ?? 0) + 1);
  }
  report(what: string): string {
    const kinds = [...this.kinds.entries()].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`);
    return `${what}: ${this.inputs} inputs; ${kinds.join(', ')}; crashes ${this.crashes.length}, hangs 0`;
  }
}

/** A flag name: right, one edit away, or unknown. */
function flagNames(names: string[]): fc.Arbitrary<string> {
  const edit = fc
    .tuple(fc.constantFrom(...names), fc.nat(40), fc.constantFrom('', 'x', '-', 's'))
    .map(([n, at, ch]) => n.slice(0, at % (n.length + 1)) + ch + n.slice((at % (n.length + 1)) + 1));
  return fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom(...names) },
    { weight: 2, arbitrary: edit },
    { weight: 1, arbitrary: fc.constantFrom('help', 'bogus', 'h', '', '__proto__', 'constructor', 'no-verbose') },
  );
}

/** Values at and past the bounds, names right and wrong, paths good and bad, junk. */
function values(d: string, aFile: string): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom('0', '1', '-1', '-5', '2', '3', '16', '17', '50', '51', '64', '65', '1000', '1001', '100000'),
    fc.constantFrom('2147483647', '2147483648', '-2147483649', '4294967297', '9007199254740993', '1e3', '0x10'),
    fc.constantFrom('0xffffffffffffffffff', 'abc', '', ' 5', '1.5', 'NaN', 'Infinity', '-0', '00'),
    fc.integer({ min: -1e6, max: 1e6 }).map(String),
    fc.constantFrom(...IMPLEMENTATION_NAMES(), 'refrence', 'mutant:'),
    fc.constantFrom(...CASES.slice(0, 10).map((c) => c.id), 'NOPE-99'),
    fc.constantFrom(...bundledScenarios(), ...bundledProfiles(), 'sequential', 'linearizability'),
    fc.constantFrom('af_unix,tessera_shm', ',', 'af_unix,,x', 'af_unix,af_unix', '3:1:0', 'zzz', '3::1'),
    fc.constantFrom('-', path.join(d, 'out.json'), path.join(d, 'sub', 'x'), d, path.join(aFile, 'x'), aFile),
    fc.constantFrom('/proc/x', '/proc', 'n'.repeat(300), '--verbose', '-h'),
    // No slash: a random relative path stays inside the test's folder.
    fc.string({ maxLength: 12 }).map((t) => t.replace(/\//g, '_')),
  );
}

/** Arguments that make a command plannable, so that the random rest reaches the checks after them. */
const BASES: Record<string, string[][]> = {
  conformance: [
    ['--impl', 'reference'],
    ['--impl', 'shm'],
    ['--driver', 'python3 driver.py'],
  ],
  sim: [['pingpong'], ['rpc-pool']],
  driver: [['--impl', 'reference']],
};

function argvFor(command: Command, d: string, aFile: string): fc.Arbitrary<string[]> {
  const name = flagNames(Object.keys(command.flags));
  const value = values(d, aFile);
  const token = fc.oneof(
    { weight: 6, arbitrary: fc.tuple(name, value).map(([n, v]) => [`--${n}`, v]) },
    { weight: 2, arbitrary: fc.tuple(name, value).map(([n, v]) => [`--${n}=${v}`]) },
    { weight: 2, arbitrary: name.map((n) => [`--${n}`]) },
    { weight: 1, arbitrary: value.map((v) => [v]) },
    { weight: 1, arbitrary: fc.constantFrom(['--'], ['-'], ['-5'], ['-x']) },
  );
  const base = fc.constantFrom<string[]>([], ...(BASES[command.name] ?? []));
  return fc
    .tuple(base, fc.array(token, { maxLength: 6 }))
    .chain(([b, ts]) => fc.shuffledSubarray([b, ...ts], { minLength: ts.length + 1 }))
    .map((ts) => ts.flat());
}

/** Everything before a run; the outcome's kind, or a crash. */
function outcome(command: Command, argv: string[]): string {
  try {
    const prepared = prepareCommand(command, argv);
    return prepared.help ? 'help' : 'planned';
  } catch (err) {
    if (err instanceof UsageError) return `usage: ${usageKind(err.message)}`;
    if (err instanceof InputError) return 'input error';
    if (err instanceof OutputError) return 'output error';
    throw err;
  }
}

describe('fuzzing the command line', function () {
  this.timeout(LONG ? 1_800_000 : 120_000);
  const dir = tempDirs('cli-fuzz');

  for (const name of COMMANDS)
    it(`random argv for \`tessera ${name}\` ends in a plan, help, or a usage, input or output error: never a crash`, () => {
      const command = commandNamed(name);
      const d = dir();
      const aFile = path.join(d, 'a-file');
      fs.writeFileSync(aFile, '{}');
      const tally = new Tally();
      // Random relative paths name folders the outputs' checks create: here, not in the repository.
      const cwd = process.cwd();
      process.chdir(d);
      try {
        fc.assert(
          fc.property(argvFor(command, d, aFile), (argv) => {
            let kind: string;
            try {
              kind = outcome(command, argv);
            } catch (err) {
              tally.crashes.push(`${JSON.stringify(argv)}: ${(err as Error)?.stack ?? String(err)}`);
              throw err;
            }
            tally.add(kind);
          }),
          { numRuns: LONG ? 20_000 : 400, seed: 17 },
        );
      } finally {
        process.chdir(cwd);
      }
      console.log(`      ${tally.report(`tessera ${name}`)}`);
      assert.equal(tally.crashes.length, 0);
      assert.ok(
        tally.kinds.size >= 3,
        `only ${[...tally.kinds.keys()].join(', ')}: the generator misses the interesting inputs`,
      );
    });

  it('whole `tessera sim` runs with random flags exit 0, 1 or 2, never throw, and a usage error writes nothing', async () => {
    const d = dir();
    const scenario = path.join(d, 'tiny.json');
    fs.writeFileSync(
      scenario,
      JSON.stringify({
        name: 'tiny',
        description: 'a short ping-pong',
        cpus: 2,
        workload: { kind: 'pingpong', mode: 'call', rounds: 20, payloadBytes: 64 },
      }),
    );
    const aFile = path.join(d, 'a-file');
    fs.writeFileSync(aFile, 'x');
    const out = path.join(d, 'out');
    const flag = fc.oneof(
      fc.constantFrom('0x2a', '7', '-1', 'zz', '0x10000000000000000').map((v) => ['--seed', v]),
      fc.constantFrom('af_unix', 'binder_like', 'af_unx').map((v) => ['--transport', v]),
      fc.constantFrom('af_unix,tessera_shm', ',', 'af_unix,af_unix', 'tessera_kernel').map((v) => ['--compare', v]),
      fc.constantFrom(path.join(out, 'r.json'), '-', path.join(aFile, 'r.json'), out).map((v) => ['--json', v]),
      fc.constantFrom(path.join(out, 't.jsonl'), '-', path.join(aFile, 't')).map((v) => ['--trace', v]),
      fc.constantFrom(path.join(out, 'svg'), path.join(aFile, 'svg'), '-').map((v) => ['--svg', v]),
      fc.constantFrom(['--paranoid'], ['--workers', '2'], ['--bogus'], ['--seed']),
    );
    const tally = new Tally();
    const write = process.stdout.write.bind(process.stdout);
    await fc.assert(
      fc.asyncProperty(fc.array(flag, { maxLength: 4 }), async (flags) => {
        fs.rmSync(out, { recursive: true, force: true });
        const argv = ['sim', scenario, ...flags.flat()];
        // `-` writes on the real stdout: keep the test's output readable.
        process.stdout.write = (() => true) as typeof process.stdout.write;
        let r;
        try {
          r = await tesseraHere(...argv);
        } finally {
          process.stdout.write = write;
        }
        tally.add(`exit ${r.code}`);
        assert.ok([0, 1, 2].includes(r.code), `${argv.join(' ')}: exit ${r.code}`);
        if (r.code === 2) {
          const written = fs.existsSync(out) ? fs.readdirSync(out, { recursive: true }) : [];
          assert.deepEqual(
            written.filter((f) => !fs.statSync(path.join(out, String(f))).isDirectory()),
            [],
            argv.join(' '),
          );
        }
      }),
      { numRuns: LONG ? 400 : 40, seed: 23 },
    );
    console.log(`      ${tally.report('tessera sim, whole runs')}`);
  });
});
