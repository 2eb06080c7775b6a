// The simulator can be used from its docs alone: the first scenario and derived profile on
// docs/simulator.html, copied out of the page, run; the reference lists every field of every
// input with its unit, default and an example, every step, workload, metric and the trace
// format; a real trace holds to the documented format; a derived profile merges onto its base
// and a wrong one is refused naming the field; the documented defaults are the engine's.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { tessera } from './support';
import { tempDirs } from '../helpers';
import { InputError, loadProfile, parseProfile, simValidators } from '../../simulator/load';
import { runScenario } from '../../simulator/run';
import { METRICS } from '../../simulator/metrics';
import { TRACE_EVENT_FIELDS, TRACE_OPERATION_FIELDS } from '../../simulator/trace-format';
import { DOCS_EXAMPLES } from '../../cli/docs/pages/simulator';
import type { Profile, Scenario, SimResults } from '../../simulator/types';

const ROOT = path.join(__dirname, '..', '..', '..');
const DOCS = path.join(ROOT, 'docs');
const SCHEMAS = path.join(ROOT, 'simulator', 'schema');

const ENTITIES: Record<string, string> = { '&quot;': '"', '&amp;': '&', '&lt;': '<', '&gt;': '>', '&#39;': "'" };

/** The text of a <pre data-example="..."> block of a docs page, as a reader copies it. */
function example(html: string, kind: string): { file: string; text: string } {
  const m = new RegExp(`<pre [^>]*data-example="${kind}" data-file="([^"]+)"><code>([\\s\\S]*?)</code></pre>`).exec(
    html,
  );
  assert.ok(m, `no ${kind} example on the page`);
  const text = m[2].replace(/<[^>]+>/g, '').replace(/&(quot|amp|lt|gt|#39);/g, (e) => ENTITIES[e]);
  return { file: m[1], text };
}

describe('the simulator from its docs', function () {
  this.timeout(60_000);
  const dir = tempDirs('sim-docs');

  it('a new scenario and a derived profile copied from docs/simulator.html run, and the profile changes only what it names [BUS-3, CALL-1]', async () => {
    const html = fs.readFileSync(path.join(DOCS, 'simulator.html'), 'utf8');
    const d = dir();
    const scenario = example(html, 'scenario');
    const profile = example(html, 'profile');
    assert.deepEqual(
      [scenario.file, profile.file],
      [`${DOCS_EXAMPLES.scenario}.json`, `${DOCS_EXAMPLES.profile}.json`],
    );
    for (const e of [scenario, profile]) fs.writeFileSync(path.join(d, e.file), e.text);
    const json = path.join(d, 'results.json');
    const r = await tessera(
      'sim',
      path.join(d, scenario.file),
      '--profile',
      path.join(d, profile.file),
      '--json',
      json,
    );
    assert.equal(r.code, 0, r.err);
    const results = JSON.parse(fs.readFileSync(json, 'utf8')) as SimResults;
    const written = JSON.parse(scenario.text) as Scenario;
    const derived = parseProfile(JSON.parse(profile.text), profile.file);
    assert.equal(results.transport, derived.name);
    assert.equal(results.scenario, written.name);
    assert.ok(results.totals.calls > 0 && results.liveness.ok, results.liveness.detail);
    assert.equal(results.outcomes['fault:stop-receiving'], 1, 'the documented fault ran');
    // Only what the derived profile names differs from its base.
    const base = loadProfile(derived.extends!);
    const own = JSON.parse(profile.text) as Record<string, unknown>;
    for (const key of Object.keys(base) as (keyof Profile)[])
      if (!(key in own)) assert.deepEqual(derived[key], base[key], key);
    assert.notDeepEqual(derived.wake.latency, base.wake.latency);
    assert.deepEqual(derived.wake.waker, base.wake.waker, 'objects merge field by field');
    assert.deepEqual(derived.lock!.holdFraction, base.lock!.holdFraction);
  });

  it('a derived profile must extend a bundled profile and have its own name; its merged result is checked whole', () => {
    const refused = (value: unknown, at: RegExp) =>
      assert.throws(
        () => parseProfile(value, 'p.json'),
        (e: unknown) => e instanceof InputError && at.test(e.message),
      );
    refused(
      { extends: 'carrier_pigeon', name: 'x' },
      /invalid profile at \/extends: no bundled profile "carrier_pigeon" \(bundled: af_unix/,
    );
    refused(
      { extends: 'af_unix' },
      /invalid profile at \/name: a profile that extends another needs a name of its own/,
    );
    refused(
      { extends: 'af_unix', name: 'x', wake: { latency: { ns: -1 } } },
      /invalid profile at \/wake\/latency\/ns: must be >= 0/,
    );
    refused(
      { extends: 'af_unix', name: 'x', wake: { lateness: 1 } },
      /invalid profile at \/wake: must NOT have additional properties \(lateness\)/,
    );
    const ok = parseProfile({ extends: 'af_unix', name: 'fast_unix', copies: 1 });
    assert.equal(ok.copies, 1);
    assert.equal(ok.ops.send.cpu.ns, loadProfile('af_unix').ops.send.cpu.ns);
  });

  it('the reference lists every field of every input with its unit, default and an example, and every step, workload and metric', () => {
    const html = fs.readFileSync(path.join(DOCS, 'simulator-reference.html'), 'utf8');
    for (const file of ['Scenario', 'Profile', 'Sweep', 'ScaleStudy']) {
      const schema = JSON.parse(fs.readFileSync(path.join(SCHEMAS, `${file}.json`), 'utf8')) as {
        properties: Record<string, unknown>;
        definitions: Record<string, { properties?: Record<string, unknown> }>;
      };
      const names = new Set(Object.keys(schema.properties));
      for (const def of Object.values(schema.definitions))
        for (const k of Object.keys(def.properties ?? {})) names.add(k);
      for (const name of names)
        assert.match(
          html,
          new RegExp(`<code[^>]*>(?:[\\w.]+\\.)?${name}</code>`),
          `${file}: field ${name} is not in the reference`,
        );
    }
    assert.match(
      html,
      /<th>Field<\/th><th>Type<\/th><th>Unit<\/th><th>Default<\/th><th>Example<\/th><th>Meaning<\/th>/,
    );
    const scenario = JSON.parse(fs.readFileSync(path.join(SCHEMAS, 'Scenario.json'), 'utf8'));
    for (const kind of ['script', 'pingpong', 'pairs', 'rpc-pool', 'fanout'])
      assert.ok(html.includes(`id="workload-${kind}"`), kind);
    for (const member of scenario.definitions.Step.oneOf as { $ref: string }[]) {
      const step = scenario.definitions[member.$ref.replace('#/definitions/', '')].properties.do.const as string;
      assert.ok(html.includes(`id="step-${step}"`), `step ${step}`);
    }
    for (const m of METRICS) assert.ok(html.includes(`<code>${m.id}</code>`), `metric ${m.id}`);
    for (const f of [...TRACE_OPERATION_FIELDS, ...TRACE_EVENT_FIELDS])
      assert.ok(html.includes(`<code>${f.name}</code>`), f.name);
    // Units and examples are filled in: the cpus row says CPUs, its default 2 and an example.
    assert.match(
      html,
      /<td><code>cpus<\/code> <span class="optional">optional<\/span><\/td><td>[^]*?<\/td><td>CPUs<\/td><td><code>2<\/code><\/td><td><code>\d+<\/code><\/td>/,
    );
  });

  it('every line of a real trace holds to the documented format [TIME-1]', () => {
    const out = runScenario({
      scenario: JSON.parse(
        fs.readFileSync(path.join(ROOT, 'simulator', 'scenarios', 'close-during-call.json'), 'utf8'),
      ),
      profile: loadProfile('binder_like'),
      seed: 9,
      trace: true,
    });
    const documented = (fields: typeof TRACE_OPERATION_FIELDS) => new Set(fields.map((f) => f.name));
    const opFields = documented(TRACE_OPERATION_FIELDS);
    let ops = 0;
    let events = 0;
    for (const line of out.trace!) {
      const o = JSON.parse(line) as Record<string, unknown>;
      if ('op' in o) {
        ops++;
        for (const k of Object.keys(o)) assert.ok(opFields.has(k), `undocumented ${k} in ${line}`);
        for (const f of TRACE_OPERATION_FIELDS) if (f.always) assert.ok(f.name in o, `${f.name} missing in ${line}`);
      } else {
        events++;
        for (const f of TRACE_EVENT_FIELDS) assert.ok(f.name in o, `${f.name} missing in ${line}`);
      }
    }
    assert.ok(ops > 50 && events > 50, `${ops} operation lines, ${events} event lines`);
  });

  it("the documented defaults are the engine's: a scenario without cpus or jitter runs on 2 CPUs with the documented spread", () => {
    const schema = JSON.parse(fs.readFileSync(path.join(SCHEMAS, 'Scenario.json'), 'utf8'));
    const scenario: Scenario = {
      name: 'defaults',
      description: 'no cpus, no jitter',
      workload: { kind: 'pingpong', mode: 'call', rounds: 30, payloadBytes: 64 },
    };
    assert.ok(simValidators.scenario.check(scenario).ok);
    const r = runScenario({ scenario, profile: loadProfile('af_unix'), seed: 4 }).results;
    assert.equal(r.cpus, schema.properties.cpus.default);
    const explicit = runScenario({
      scenario: { ...scenario, cpus: schema.properties.cpus.default, jitter: schema.properties.jitter.default },
      profile: loadProfile('af_unix'),
      seed: 4,
    }).results;
    assert.equal(explicit.hash, r.hash, 'omitting a field is giving its default');
  });
});
