import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { generateSchemas } from '../../spec/tools/schemas';
import { validators } from '../../spec/validate';

const ROOT = path.join(__dirname, '..', '..', '..');

describe('JSON Schemas generated from the spec types', function () {
  this.timeout(120_000);

  it('the committed schemas are exactly what the types generate (run `npm run schemas` if not) [ERR-2]', () => {
    const generated = generateSchemas(ROOT);
    for (const [file, text] of generated) {
      const committed = fs.existsSync(path.join(ROOT, file))
        ? fs.readFileSync(path.join(ROOT, file), 'utf8')
        : '(missing)';
      assert.ok(committed === text, `${file} is stale: run npm run schemas`);
    }
  });

  const bad: [string, unknown, string, RegExp][] = [
    [
      'a field of the wrong type',
      { op: 'send', peer: 1, handle: 'two', message: { segments: [] } },
      '/handle',
      /integer/,
    ],
    ['an unknown operation', { op: 'teleport', peer: 1 }, '', /op/],
    ['an extra field', { op: 'release', peer: 1, handle: 2, force: true }, '', /additional.*force/],
    ['a handle name that is not a safe integer', { op: 'release', peer: 1, handle: 2 ** 53 }, '/handle', /<=/],
    ['a fractional handle name', { op: 'revoke', peer: 1, handle: 1.5 }, '/handle', /integer/],
    ['a right that does not exist', { op: 'mint', peer: 1, handle: 1, rights: ['root'] }, '/rights/0', /allowed/],
    [
      'a payload that is not base64',
      { op: 'send', peer: 1, handle: 1, message: { segments: ['%%'] } },
      '/message/segments/0',
      /pattern/,
    ],
    ['a badge beyond 2^53-1', { op: 'mint', peer: 1, handle: 1, rights: [], badge: 2 ** 60 }, '/badge', /<=/],
    ['a missing field', { op: 'receive', peer: 1 }, '', /max/],
  ];
  for (const [what, value, pathTo, message] of bad) {
    it(`an operation with ${what} is rejected with the path to the bad field [ERR-1]`, () => {
      const r = validators.operation.check(value);
      assert.equal(r.ok, false);
      if (r.ok) return;
      assert.equal(r.path, pathTo);
      assert.match(r.message, message);
    });
  }

  it('well-formed operations and deliveries pass [DELIVER-1]', () => {
    assert.ok(
      validators.operation.check({
        op: 'send',
        peer: 1,
        handle: 2,
        message: { segments: ['aGk='], transfers: [{ handle: 3, rights: ['send'], move: true }] },
        timeoutMs: 5,
      }).ok,
    );
    assert.ok(
      validators.delivery.check({ kind: 'notice', notice: { type: 'no-senders', node: 1, derivedCount: 3 } }).ok,
    );
    assert.ok(
      validators.delivery.check({
        kind: 'call',
        node: 1,
        badge: 0,
        payload: '',
        handles: [{ name: null, kind: 'node', rights: [], state: 'dead' }],
        replyHandle: 4,
      }).ok,
    );
    assert.equal(validators.delivery.check({ kind: 'call', node: 1, badge: 0, payload: '', handles: [] }).ok, false);
  });
});
