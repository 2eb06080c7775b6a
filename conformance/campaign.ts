// The mutation campaign the project runs on itself: mutants of the model's rules made mechanically,
// each run as an implementation against the unmutated model, to measure what the suite catches.
//
// The operators are the classic ones, applied to the model's rule files (model/rules.ts,
// model/checks.ts, model/effects.ts, model/apply.ts):
//   flip-guard  a comparison or connective turned around (=== and !==, < and <=, > and >=, && and ||)
//   drop-not    a negation dropped
//   off-by-one  `x + 1` or `x - 1` becomes `x`
//   drop-rule   one check removed from an operation's list of rules (model/rules.ts)
//   swap-rules  two neighbouring checks exchanged (the order ERR-1 fixes)
//   swap-steps  two neighbouring statements of an effect exchanged
// Each mutant's file is transpiled into a copy of the compiled model, which a model driver
// (conformance/model-driver.ts) serves while the suite's oracle stays the real model. The suite runs
// its cases and the sequential property with a fixed budget, in a child process with a time limit
// (a mutant may loop). A mutant is killed when anything fails, and survives when all passes.
//
//   npm run campaign -- [--runs 200] [--seed 1] [--limit 150] [--sample-seed 1] [--ids 3,17] [--out FILE]
//
// The report lists the kill rate and every survivor (file, line, operator, the text before and
// after), to be shown equivalent or given a case.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import ts from 'typescript';

const ROOT = path.resolve(__dirname, '..', '..');
const MODEL_FILES = ['model/rules.ts', 'model/checks.ts', 'model/effects.ts', 'model/apply.ts'];

export interface Mutation {
  id: number;
  file: string;
  line: number;
  operator: 'flip-guard' | 'drop-not' | 'off-by-one' | 'drop-rule' | 'swap-rules' | 'swap-steps';
  start: number;
  end: number;
  before: string;
  after: string;
}

const FLIPS: Partial<Record<ts.SyntaxKind, string>> = {
  [ts.SyntaxKind.EqualsEqualsEqualsToken]: '!==',
  [ts.SyntaxKind.ExclamationEqualsEqualsToken]: '===',
  [ts.SyntaxKind.LessThanToken]: '<=',
  [ts.SyntaxKind.LessThanEqualsToken]: '<',
  [ts.SyntaxKind.GreaterThanToken]: '>=',
  [ts.SyntaxKind.GreaterThanEqualsToken]: '>',
  [ts.SyntaxKind.AmpersandAmpersandToken]: '||',
  [ts.SyntaxKind.BarBarToken]: '&&',
};

/** Every mutation site of one source file. */
export function mutationsOf(file: string, text: string): Omit<Mutation, 'id'>[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const out: Omit<Mutation, 'id'>[] = [];
  const line = (pos: number) => sf.getLineAndCharacterOfPosition(pos).line + 1;
  const add = (operator: Mutation['operator'], start: number, end: number, after: string) =>
    out.push({ file, line: line(start), operator, start, end, before: text.slice(start, end), after });
  const visit = (node: ts.Node): void => {
    if (ts.isBinaryExpression(node)) {
      const flip = FLIPS[node.operatorToken.kind];
      if (flip) add('flip-guard', node.operatorToken.getStart(sf), node.operatorToken.getEnd(), flip);
      const k = node.operatorToken.kind;
      if (
        (k === ts.SyntaxKind.PlusToken || k === ts.SyntaxKind.MinusToken) &&
        ts.isNumericLiteral(node.right) &&
        node.right.text === '1'
      )
        add('off-by-one', node.getStart(sf), node.getEnd(), node.left.getText(sf));
    }
    if (ts.isPrefixUnaryExpression(node) && node.operator === ts.SyntaxKind.ExclamationToken)
      add('drop-not', node.getStart(sf), node.getEnd(), `(${node.operand.getText(sf)})`);
    // The rule lists: `const xRules: Rule[] = [a, b, c]`.
    if (
      ts.isVariableDeclaration(node) &&
      node.type?.getText(sf) === 'Rule[]' &&
      node.initializer &&
      ts.isArrayLiteralExpression(node.initializer)
    ) {
      const els = node.initializer.elements;
      for (let i = 0; i < els.length; i++) {
        const e = els[i];
        add('drop-rule', e.getStart(sf), i + 1 < els.length ? els[i + 1].getStart(sf) : e.getEnd(), '');
        if (i + 1 < els.length) {
          const f = els[i + 1];
          add('swap-rules', e.getStart(sf), f.getEnd(), `${f.getText(sf)}, ${e.getText(sf)}`);
        }
      }
    }
    // Neighbouring expression statements of a function body (the order of effects).
    if (ts.isBlock(node) && file !== 'model/rules.ts' && file !== 'model/checks.ts') {
      const st = node.statements;
      for (let i = 0; i + 1 < st.length; i++)
        if (ts.isExpressionStatement(st[i]) && ts.isExpressionStatement(st[i + 1]))
          add('swap-steps', st[i].getStart(sf), st[i + 1].getEnd(), `${st[i + 1].getText(sf)}\n${st[i].getText(sf)}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** A deterministic sample of `limit` mutations, spread over files and operators (a seeded shuffle). */
export function sample(all: Omit<Mutation, 'id'>[], limit: number, seed: number): Mutation[] {
  const numbered = all.map((m, id) => ({ ...m, id }));
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
  for (let i = numbered.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [numbered[i], numbered[j]] = [numbered[j], numbered[i]];
  }
  return numbered.slice(0, limit).sort((a, b) => a.id - b.id);
}

/** A copy of the compiled model with one file mutated; returns the directory holding `model/`. */
function buildMutant(m: Mutation, work: string): string {
  const dir = path.join(work, `m${m.id}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.cpSync(path.join(ROOT, 'dist', 'model'), path.join(dir, 'model'), { recursive: true });
  fs.symlinkSync(path.join(ROOT, 'dist', 'spec'), path.join(dir, 'spec'));
  const src = fs.readFileSync(path.join(ROOT, m.file), 'utf8');
  const mutated = src.slice(0, m.start) + m.after + src.slice(m.end);
  const js = ts.transpileModule(mutated, {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  }).outputText;
  fs.writeFileSync(path.join(dir, m.file.replace(/\.ts$/, '.js')), js);
  return dir;
}

interface Verdict {
  status: 'killed' | 'survived' | 'timeout' | 'crashed';
  by?: string;
}

/** In the child: run the suite against the mutant in `dir`. */
async function runOne(dir: string, runs: number, seed: number): Promise<Verdict> {
  const mutated = require(path.join(dir, 'model', 'index.js')) as typeof import('../model');
  const { createModelDriver } = require('./model-driver') as typeof import('./model-driver');
  const { runSuite } = require('./suite') as typeof import('./suite');

  const report = await runSuite({
    createDriver: () => createModelDriver('mutant', () => mutated.applyInPlace),
    driverLabel: 'mutant',
    replayBase: '',
    runs,
    seed,
  });
  const failedCase = report.cases.find((c) => c.status !== 'pass' && c.status !== 'unsupported');
  if (failedCase) return { status: 'killed', by: `case ${failedCase.id}` };
  const failedProperty = report.properties.find((p) => p.status !== 'pass');
  if (failedProperty) return { status: 'killed', by: `property after ${failedProperty.runs} runs` };
  if (report.driverError) return { status: 'killed', by: 'driver error' };
  return { status: 'survived' };
}

function flag(argv: string[], name: string, fallback: number): number {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === '--one') {
    const v = await runOne(argv[1], Number(argv[2]), Number(argv[3]));
    process.stdout.write(`${JSON.stringify(v)}\n`);
    return 0;
  }
  const runs = flag(argv, 'runs', 200);
  const seed = flag(argv, 'seed', 1);
  const limit = flag(argv, 'limit', 150);
  const sampleSeed = flag(argv, 'sample-seed', 1);
  const timeoutMs = flag(argv, 'timeout-ms', 120_000);
  const outAt = argv.indexOf('--out');
  const all = MODEL_FILES.flatMap((f) => mutationsOf(f, fs.readFileSync(path.join(ROOT, f), 'utf8')));
  const idsAt = argv.indexOf('--ids');
  const ids = idsAt >= 0 ? new Set(argv[idsAt + 1].split(',').map(Number)) : null;
  const chosen = ids ? all.map((m, id) => ({ ...m, id })).filter((m) => ids.has(m.id)) : sample(all, limit, sampleSeed);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-campaign-'));
  // The compiled model's own dependencies (xstate) resolve from the project's node_modules.
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(work, 'node_modules'));
  console.log(
    `mutation campaign: ${all.length} mutation sites in ${MODEL_FILES.join(', ')}; running ${chosen.length} (sample seed ${sampleSeed}), ${runs} property runs each, seed ${seed}`,
  );
  const results: (Mutation & Verdict)[] = [];
  const started = Date.now();
  for (const m of chosen) {
    const dir = buildMutant(m, work);
    const child = spawnSync(process.execPath, [__filename, '--one', dir, String(runs), String(seed)], {
      encoding: 'utf8',
      timeout: timeoutMs,
      maxBuffer: 64 * 1024 * 1024,
    });
    let v: Verdict;
    if (child.error || child.signal) v = { status: 'timeout', by: `no verdict within ${timeoutMs} ms` };
    else {
      const lastLine = child.stdout.trim().split('\n').pop() ?? '';
      try {
        v = JSON.parse(lastLine) as Verdict;
      } catch {
        v = { status: 'crashed', by: (child.stderr || child.stdout).trim().split('\n').slice(-1)[0] ?? '' };
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
    results.push({ ...m, ...v });
    const where = `${m.file}:${m.line}`;
    console.log(
      `  #${String(m.id).padStart(4)} ${m.operator.padEnd(10)} ${where.padEnd(24)} ${v.status}${v.by ? ` (${v.by})` : ''}`,
    );
  }
  fs.rmSync(work, { recursive: true, force: true });
  const killed = results.filter((r) => r.status !== 'survived');
  const survivors = results.filter((r) => r.status === 'survived');
  const byOperator = new Map<string, { n: number; killed: number }>();
  for (const r of results) {
    const o = byOperator.get(r.operator) ?? { n: 0, killed: 0 };
    o.n++;
    if (r.status !== 'survived') o.killed++;
    byOperator.set(r.operator, o);
  }
  console.log(
    `\nkilled ${killed.length} of ${results.length} (${((killed.length * 100) / Math.max(1, results.length)).toFixed(1)}%) in ${Math.round((Date.now() - started) / 1000)} s`,
  );
  for (const [o, { n, killed: k }] of byOperator) console.log(`  ${o.padEnd(10)} ${k}/${n}`);
  if (survivors.length > 0)
    console.log(`\nsurvivors (${survivors.length}): each equivalent, or a gap to close with a case`);
  for (const s of survivors)
    console.log(
      `  #${s.id} ${s.operator} ${s.file}:${s.line}\n      before: ${s.before.replace(/\s+/g, ' ').slice(0, 160)}\n      after:  ${s.after.replace(/\s+/g, ' ').slice(0, 160)}`,
    );
  if (outAt >= 0)
    fs.writeFileSync(
      argv[outAt + 1],
      `${JSON.stringify({ runs, seed, sampleSeed, sites: all.length, results }, null, 2)}\n`,
    );
  return 0;
}

if (require.main === module)
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
