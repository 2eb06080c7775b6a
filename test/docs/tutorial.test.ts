// The tutorial is drawn from a real run of the tour's own steps: every entry
// the bus queues becomes one arrow, every failure a mark, and a step added to
// the tour shows up in the tutorial with no more work.
import * as assert from 'assert';
import { TOUR_STEPS, type TourStep, runTour } from '../../cli/tour';
import { type Mark, recordStory } from '../../cli/docs/story';
import { sequenceSvg, wrapLabel } from '../../cli/docs/sequence';
import { tutorialPage } from '../../cli/docs/pages/tutorial';
import { loadSite } from '../../cli/docs/site';
import { repositoryRoot } from '../../cli/docs';

const marksOf = <K extends Mark['kind']>(marks: Mark[], kind: K) =>
  marks.filter((m): m is Extract<Mark, { kind: K }> => m.kind === kind);

describe('docs: the tutorial drawn from the tour', function () {
  this.timeout(120_000);

  it('every entry the tour queues is one arrow from the operation that queued it to the receive that delivered it or the operation that discarded it [ORDER-1, NOTICE-1, DESTROY-3, CLOSE-4]', async () => {
    const seen = { enqueue: 0, dequeue: 0, discard: 0, failed: 0, notices: 0 };
    await runTour({
      operation: (_op, outcome) => {
        for (const e of outcome.events) {
          if (e.type === 'enqueue' || e.type === 'dequeue' || e.type === 'discard') seen[e.type]++;
          if (e.type === 'enqueue' && e.from === 0) seen.notices++;
        }
        if (!('pending' in outcome.result) && !outcome.result.ok) seen.failed++;
      },
    });
    const story = await recordStory();
    const marks = story.flatMap((s) => s.marks);
    const sends = marksOf(marks, 'send');
    assert.strictEqual(sends.length, seen.enqueue);
    assert.strictEqual(sends.filter((m) => m.style === 'notice').length, seen.notices);
    assert.strictEqual(marksOf(marks, 'deliver').length, seen.dequeue);
    assert.strictEqual(marksOf(marks, 'discard').length, seen.discard);
    assert.strictEqual(marksOf(marks, 'failure').length, seen.failed);
    assert.ok(seen.enqueue > 10 && seen.notices > 3 && seen.discard > 0 && seen.failed >= 3, JSON.stringify(seen));
    // Each entry ends once, after it was queued (in the same step or an earlier one).
    const queued = new Set<number>();
    const ended = new Set<number>();
    for (const m of marks) {
      if (m.kind === 'send') queued.add(m.seq);
      if (m.kind === 'deliver' || m.kind === 'discard') {
        assert.ok(queued.has(m.seq), `entry ${m.seq} ends before it was queued`);
        assert.ok(!ended.has(m.seq), `entry ${m.seq} ends twice`);
        ended.add(m.seq);
      }
    }
    assert.deepStrictEqual([...queued].filter((s) => !ended.has(s)), [], 'entries left queued at the end of the tour');
    // The delegated reply: the call waits, and the reply arrow goes from the worker straight to its caller.
    const [reply] = marksOf(marks, 'reply');
    assert.ok(reply, 'no reply drawn');
    assert.ok(marksOf(marks, 'wait').some((w) => w.ticket === reply.ticket && w.peer === reply.to));
  });

  it('a step added to the tour appears in the tutorial with its own diagram [SEND-1]', async () => {
    const extra: TourStep = {
      title: 'One more message',
      story: 'A writes to the service once more (SEND-1).',
      run(t) {
        t.peer('alice').send(t.handle('aliceToService'), { payload: 'once more' });
        t.receive('service');
      },
    };
    const story = await recordStory([TOUR_STEPS[0], TOUR_STEPS[1], extra]);
    const page = tutorialPage(loadSite(repositoryRoot()), story);
    assert.match(page.body, /<h2>3\. One more message<\/h2>/);
    assert.match(page.body, /aria-label="Sequence diagram of step 3\. One more message: 1 message"/);
    assert.ok(page.toc.some((t) => t.id === 'step-3'));
    assert.deepStrictEqual(
      story[2].participants.map((p) => p.name),
      ['service', 'alice'],
    );
  });

  it('draws the same bytes for the same run, with ids of its own per diagram', async () => {
    const [a, b] = await Promise.all([recordStory(), recordStory()]);
    const svgs = a.map((s) => sequenceSvg(s, `step ${s.index + 1}`));
    assert.deepStrictEqual(
      b.map((s) => sequenceSvg(s, `step ${s.index + 1}`)),
      svgs,
    );
    const ids = svgs.flatMap((svg) => [...svg.matchAll(/\bid="([^"]+)"/g)].map((m) => m[1]));
    assert.strictEqual(new Set(ids).size, ids.length, 'an id used twice across the diagrams of one page');
  });

  it('wraps labels at spaces and keeps a longer word whole', () => {
    assert.deepStrictEqual(wrapLabel('send(h1, "hello, I am bob")', 12), ['send(h1,', '"hello, I am', 'bob")']);
    assert.deepStrictEqual(wrapLabel('averyveryverylongword x', 5), ['averyveryverylongword', 'x']);
  });
});
