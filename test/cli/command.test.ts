// The tessera command's front door: help generated from the flag definitions,
// every flag checked with a precise usage error (exit 2) before anything runs,
// "did you mean", outputs checked and created before a run and written whole,
// `-` for stdout, and a reader that goes away (EPIPE) ending the command quietly.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { commandHelp, parseCommandLine, type Command } from '../../cli/command';
import { OutputError, OutputFile } from '../../cli/output';
import { nearest } from '../../cli/suggest';
import { EPIPE_STATUS } from '../../cli/tessera';
import { simValidators } from '../../simulator/load';
import { reportValidator } from '../../conformance/report-schema';
import { HAS_PROC, ROOT, tesseraHere, tesseraProcess } from './support';
import { tempDirs } from '../helpers';

const COMMANDS = ['calibrate', 'conformance', 'docs', 'driver', 'sim', 'tour'];
const commandNamed = (name: string): Command =>
  (require(path.join(ROOT, 'dist', 'cli', 'commands', `${name}.js`)) as { command: Command }).command;

describe('tessera: help, version and suggestions', () => {
  for (const name of COMMANDS)
    it(`\`tessera help ${name}\` lists every flag of ${name} with its default, and examples; the same as --help and -h`, async () => {
      const command = commandNamed(name);
      const viaHelp = await tesseraHere('help', name);
      assert.equal(viaHelp.code, 0);
      for (const argv of [
        [name, '--help'],
        [name, '-h'],
        [name, '--bogus', '--help'],
      ])
        assert.equal((await tesseraHere(...argv)).out, viaHelp.out, argv.join(' '));
      const text = viaHelp.out;
      assert.equal(text, commandHelp(command));
      assert.match(text, new RegExp(`^usage: tessera ${name}`));
      for (const [flag, def] of Object.entries(command.flags)) {
        assert.match(text, new RegExp(`--${flag}\\b`), `--${flag} missing`);
        if (def.defaultText !== undefined)
          assert.ok(text.replace(/\s+/g, ' ').includes(`(default: ${def.defaultText})`), `--${flag}'s default missing`);
      }
      assert.match(text, /-h, --help/);
      assert.ok(command.examples.length > 0);
      assert.match(text, new RegExp(`examples:\\n  # .*\\n  tessera ${name}`));
    });

  it('--version prints the package version and the driver protocol version', async () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = await tesseraHere('--version');
    assert.equal(r.code, 0);
    assert.match(r.out, new RegExp(`^tessera ${pkg.version.replace(/\./g, '\\.')} \\(driver protocol \\w+\\)$`));
  });

  it('`tessera help` and --help list every command; no command at all is a usage error on stderr', async () => {
    const help = await tesseraHere('help');
    for (const name of COMMANDS) assert.match(help.out, new RegExp(`\\n  ${name} `));
    assert.equal((await tesseraHere('--help')).out, help.out);
    const none = await tesseraHere();
    assert.equal(none.code, 2);
    assert.equal(none.err, help.out);
  });

  it('a mistyped command, flag, implementation, case, scenario or transport is answered with the nearest names', async () => {
    const cases: [string[], RegExp][] = [
      [['conformnce'], /unknown command "conformnce" \(did you mean conformance\?\)/],
      [['help', 'simm'], /unknown command "simm" \(did you mean sim\?\)/],
      [
        ['conformance', '--impl', 'reference', '--timout-ms', '5'],
        /unknown option --timout-ms \(did you mean --timeout-ms\?\)/,
      ],
      [['conformance', '--impl', 'refrence'], /not "refrence" \(did you mean reference\?\)/],
      [['conformance', '--impl', 'reference', '--case', 'create-nod'], /\(did you mean create-node\?\)/],
      [['sim', 'pingpng'], /no bundled scenario "pingpng" .*\(did you mean pingpong\?\)/],
      [
        ['sim', 'pingpong', '--transport', 'af_unx'],
        /no bundled transport profile "af_unx" \(did you mean af_unix\?\)/,
      ],
      [['tour', 'skip-docs'], /unexpected argument skip-docs \(did you mean --skip-docs\?\)/],
    ];
    for (const [argv, message] of cases) {
      const r = await tesseraHere(...argv);
      assert.equal(r.code, 2, argv.join(' '));
      assert.match(r.err, message, argv.join(' '));
    }
    assert.deepEqual(nearest('xyzzy', ['sim', 'tour']), []);
    assert.deepEqual(nearest('conf', ['conformance', 'calibrate']), ['conformance']);
  });
});

describe('tessera: every flag checked before anything runs', function () {
  this.timeout(60_000);
  const dir = tempDirs('cli-flags');

  it('each bad flag value, combination or argument is a precise usage error with exit 2 and the usage line', async () => {
    const d = dir();
    const noAxes = path.join(d, 'no-axes.json');
    fs.writeFileSync(noAxes, JSON.stringify({ name: 'x', scenario: 'pingpong', transports: ['af_unix'], axes: [] }));
    const badSeed = path.join(d, 'bad-seed.json');
    fs.writeFileSync(
      badSeed,
      JSON.stringify({
        name: 'x',
        scenario: 'pingpong',
        seed: '-1',
        transports: ['af_unix'],
        axes: [{ field: 'rounds', values: [5] }],
      }),
    );
    const hugeSeed = path.join(d, 'huge-seed.json');
    fs.writeFileSync(
      hugeSeed,
      JSON.stringify({
        name: 'x',
        scenario: 'pingpong',
        seed: '99999999999999999999',
        transports: ['af_unix'],
        axes: [{ field: 'rounds', values: [5] }],
      }),
    );
    const ref = ['conformance', '--impl', 'reference'];
    const cases: [string[], RegExp][] = [
      [[...ref, '--case', 'NOPE-99'], /--case: no case "NOPE-99"/],
      [[...ref, '--seed', '1', '--path', 'zzz'], /--path takes a replay path such as "3:1:0" .*, not "zzz"/],
      [[...ref, '--path', '3:1'], /--path replays a failure: give the --seed/],
      [[...ref, '--seed', '1', '--path', '-3'], /--path of a sequential replay is a path such as "3:1:0", not "-3"/],
      [
        [...ref, '--seed', '1', '--concurrency', '3', '--property', 'linearizability', '--path', '3:1'],
        /--path of a linearizability replay is the run's seed/,
      ],
      [
        [...ref, '--seed', '1', '--path', '3', '--case', 'create-node'],
        /not with --case, --clause, --level or --cases-only/,
      ],
      [
        ['conformance', '--driver', 'x', '--timeout-ms', 'abc'],
        /--timeout-ms takes an integer 1\.\.2147483647, not "abc"/,
      ],
      [
        ['conformance', '--driver', 'x', '--timeout-ms', '-5'],
        /--timeout-ms takes an integer 1\.\.2147483647, not "-5"/,
      ],
      [['conformance', '--driver', 'x', '--timeout-ms', '0'], /--timeout-ms takes an integer 1\.\.2147483647, not "0"/],
      [['conformance', '--driver', 'x', '--timeout-ms', '1e3'], /--timeout-ms takes an integer/],
      [[...ref, '--timeout-ms', '100'], /apply to a stdio --driver only/],
      [
        [...ref, '--seed', '4294967297'],
        /--seed takes an integer -2147483648\.\.2147483647 \(decimal or 0x-hex\), not "4294967297"/,
      ],
      [[...ref, '--concurrency', '100000'], /--concurrency takes an integer 0\.\.16, not "100000"/],
      [[...ref, '--property', 'linearizability'], /--property names the property --path replays: give --path too/],
      [[...ref, '--property', 'linearizability', '--seed', '1', '--path', '5'], /give --concurrency K \(2 or more\)/],
      [[...ref, '--concurrent-runs', '5'], /size the concurrent phase: give --concurrency K/],
      [[...ref, '--runs', '0'], /--runs takes an integer 1\.\.1000000, not "0"/],
      [[...ref, '--runs', '3', '--runs', '4'], /--runs is given 2 times; give it once/],
      [['conformance', '--seed', '--verbose'], /--seed needs a value \(S\), not the option --verbose/],
      [[...ref, '--verbose=yes'], /--verbose takes no value \(got "yes"\)/],
      [['conformance'], /give exactly one of --impl and --driver/],
      [['conformance', '--impl', 'reference', '--driver', 'x'], /give exactly one of --impl and --driver/],
      [
        ['sim', 'pingpong', '--compare', ','],
        /--compare takes transport names separated by commas \(af_unix,tessera_shm\), not ","/,
      ],
      [['sim', 'pingpong', '--compare', 'af_unix,af_unix'], /--compare names a transport twice/],
      [['sim', 'pingpong', '--compare', 'af_unix,tessera_shm', '--trace', '-'], /--trace - writes one trace/],
      [['sim', 'pingpong', '--seed', '0x10000000000000000'], /--seed must be below 2\^64/],
      [['sim', 'pingpong', '--seed', '-1'], /--seed must be decimal or 0x-hex, not "-1"/],
      [['sim', '--sweep', noAxes, '--svg', d], /invalid sweep at \/axes: must NOT have fewer than 1 items/],
      [['sim', '--sweep', badSeed], /invalid sweep at \/seed: must match pattern/],
      [['sim', '--sweep', hugeSeed], /invalid sweep at \/seed: must be below 2\^64/],
      [['sim', '--sweep', path.join(d, 'none.json')], /--sweep .*none\.json: no such file/],
      [
        ['sim', 'pingpong', '--json', '-', '--trace', '-'],
        /only one output can be - \(stdout\): --trace and --json are/,
      ],
      [['tour', '--runs', '-3'], /--runs takes an integer 1\.\.100000, not "-3"/],
      [['tour', 'extra'], /unexpected argument extra/],
      [['calibrate', '--out', '-'], /--out writes several files into a folder: - \(stdout\) cannot hold them/],
      [['calibrate', '--measurements', path.join(d, 'none.json')], /no such measurements file/],
      [['driver'], /--impl is required/],
      [['driver', '--impl', 'shm', 'extra'], /unexpected argument extra/],
      [['docs', '--out', ''], /--out needs a folder name/],
    ];
    for (const [argv, message] of cases) {
      const r = await tesseraHere(...argv);
      assert.equal(r.code, 2, `${argv.join(' ')}: exit ${r.code}\n${r.out}\n${r.err}`);
      assert.match(r.err, message, argv.join(' '));
      if (!/sweep at/.test(message.source))
        assert.match(r.err, /\nusage: tessera /, `${argv.join(' ')}: no usage line`);
      assert.equal(r.out, '', `${argv.join(' ')} printed on stdout`);
    }
    assert.deepEqual(fs.readdirSync(d).sort(), ['bad-seed.json', 'huge-seed.json', 'no-axes.json']);
  });

  it('flags read through parseArgs: --flag=value, a value starting with a dash, and -- before operands', () => {
    const sim = commandNamed('sim');
    const a = parseCommandLine(sim, ['--seed=0x2a', '--', '--pingpong']);
    assert.ok(!a.help);
    assert.equal(a.args.flags.seed, '0x2a');
    assert.deepEqual(a.args.operands, ['--pingpong']);
    const conformance = commandNamed('conformance');
    const b = parseCommandLine(conformance, ['--seed', '-7', '--impl', 'reference']);
    assert.ok(!b.help);
    assert.equal(b.args.flags.seed, -7);
    assert.equal(b.args.flags.runs, 100);
    assert.equal(b.args.flags.verbose, false);
  });
});

describe('tessera: outputs checked before the run, written whole, - for stdout', function () {
  this.timeout(120_000);
  const dir = tempDirs('cli-out');

  it('an unusable output (a file in the path, a folder, a name too long, /proc) stops the command before it runs, with exit 2, and nothing is written', async () => {
    const d = dir();
    const file = path.join(d, 'a-file');
    fs.writeFileSync(file, 'x');
    const json = path.join(d, 'r.json');
    const trace = path.join(d, 't.jsonl');
    const cases: [string[], RegExp][] = [
      [
        ['sim', 'pingpong', '--json', json, '--trace', trace, '--svg', path.join(file, 'x')],
        /--svg .*: cannot create the folder .*a-file\/x: .*ENOTDIR|it exists and is not a folder/,
      ],
      [['sim', 'pingpong', '--json', d], /--json .*: cannot write a file there: it is a folder/],
      [
        ['sim', 'pingpong', '--json', path.join(d, 'n'.repeat(300))],
        /--json .*: .*the name is too long \(ENAMETOOLONG\)/,
      ],
      [
        ['conformance', '--impl', 'reference', '--json', path.join(file, 'r.json')],
        /--json .*: cannot use .*a-file: it exists and is not a folder/,
      ],
      [
        ['calibrate', '--quick', '--out', path.join(file, 'cal')],
        /--out .*: cannot use .*a-file: it exists and is not a folder/,
      ],
      ...(HAS_PROC
        ? ([
            [['sim', 'pingpong', '--svg', '/proc/x'], /--svg \/proc\/x: cannot create the folder \/proc\/x/],
            [['sim', 'pingpong', '--json', '/proc/x'], /--json \/proc\/x: cannot write in the folder \/proc/],
          ] as [string[], RegExp][])
        : []),
    ];
    for (const [argv, message] of cases) {
      const r = await tesseraHere(...argv);
      assert.equal(r.code, 2, `${argv.join(' ')}: ${r.out}\n${r.err}`);
      assert.match(r.err, message, argv.join(' '));
      assert.equal(r.out, '', `${argv.join(' ')}: it ran`);
      assert.deepEqual(fs.readdirSync(d), ['a-file'], `${argv.join(' ')} wrote something`);
    }
  });

  it('folders are created before the run; a file is replaced whole; a failed write leaves no temporary file', async () => {
    const d = dir();
    const json = path.join(d, 'deep', 'er', 'r.json');
    const r = await tesseraHere('sim', 'pingpong', '--json', json, '--seed', '7');
    assert.equal(r.code, 0, r.err);
    assert.ok(simValidators.results.check(JSON.parse(fs.readFileSync(json, 'utf8'))).ok);
    const out = new OutputFile('--json', path.join(d, 'x.json'));
    out.prepare();
    out.write('first, longer text\n');
    out.write('second\n');
    assert.equal(fs.readFileSync(path.join(d, 'x.json'), 'utf8'), 'second\n');
    // Something takes the file's place after the check: the write fails cleanly.
    const late = new OutputFile('--json', path.join(d, 'late.json'));
    late.prepare();
    fs.mkdirSync(path.join(d, 'late.json'));
    assert.throws(() => late.write('text'), OutputError);
    assert.deepEqual(fs.readdirSync(d).sort(), ['deep', 'late.json', 'x.json']);
    // A device is written in place, never replaced.
    if (fs.existsSync('/dev/null')) {
      new OutputFile('--json', '/dev/null').write('nothing\n');
      assert.ok(fs.statSync('/dev/null').isCharacterDevice());
    }
  });

  it('`-` writes the JSON on stdout and the human report on stderr (sim, conformance)', async () => {
    const sim = await tesseraProcess(['sim', 'pingpong', '--seed', '3', '--json', '-']);
    assert.equal(sim.code, 0, sim.stderr);
    assert.ok(simValidators.results.check(JSON.parse(sim.stdout)).ok, 'stdout is not SimResults');
    assert.match(sim.stderr, /scenario pingpong on tessera_shm/);
    assert.match(sim.stderr, /results: stdout/);
    const conf = await tesseraProcess(['conformance', '--impl', 'reference', '--cases-only', '--json', '-']);
    assert.equal(conf.code, 0, conf.stderr);
    assert.ok(reportValidator.check(JSON.parse(conf.stdout)).ok, 'stdout is not a ConformanceReport');
    assert.match(conf.stderr, /PASS/);
  });

  it('a reader that goes away (EPIPE, as `tessera tour | head -1`) ends the command quietly with status 141', async () => {
    const r = await tesseraProcess(['tour', '--skip-docs', '--runs', '1'], {
      onStdout: (_chunk, child) => child.stdout?.destroy(),
    });
    assert.equal(r.code, EPIPE_STATUS, r.stderr);
    assert.equal(r.stderr, '');
  });
});
