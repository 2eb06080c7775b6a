// The tutorial's material: the tour's steps (cli/tour.ts) run on the reference
// backend, every operation through the formal model, and recorded as marks on
// the lifelines of a sequence diagram: a message or call from the operation
// that queued it to the receive that delivered it (matched by the bus's
// sequence numbers, ORDER-1), a notice from the operation that made the bus
// send it, a reply straight to the caller (CALL-6), a discarded entry, a
// failed operation. Nothing here is
// typed by hand: what the model did is what the diagrams show.
import type { Completion, Delivery, Notice, Operation } from '../../spec/types';
import type { BusEvent, StepOutcome } from '../../model';
import { formatCompletion, formatDelivery, formatInvocation, formatOp } from '../../conformance/format';
import { type TourStep, type TourWorld, TOUR_STEPS, runTour } from '../tour';

/** The bus itself, as a participant (it attaches peers and sends notices). */
export const BUS = 0;

export type ArrowStyle = 'message' | 'call' | 'notice';

export type Mark =
  /** An operation with no message: a box on the peer's lifeline. */
  | { kind: 'self'; peer: number; label: string }
  /** The bus owner attaches a peer: its lifeline starts here. */
  | { kind: 'attach'; peer: number; label: string }
  /** The peer closed: its lifeline ends here. */
  | { kind: 'close'; peer: number; label: string }
  /** A failed operation (ATOMIC-1: it changed nothing). */
  | { kind: 'failure'; peer: number; label: string }
  /** An entry queued: the start of an arrow. */
  | { kind: 'send'; seq: number; from: number; to: number; style: ArrowStyle; label: string }
  /** An entry delivered by a receive: the end of its arrow. */
  | { kind: 'deliver'; seq: number; peer: number; label: string }
  /** An entry discarded unread: its arrow ends in a cross. */
  | { kind: 'discard'; seq: number; peer: number; label: string }
  /** A pending call starts waiting. */
  | { kind: 'wait'; peer: number; ticket: number }
  /** A reply completes a call: an arrow straight to the caller. */
  | { kind: 'reply'; from: number; to: number; ticket: number; label: string }
  /** A pending operation completes other than by a reply (a call fails DEAD...). */
  | { kind: 'outcome'; peer: number; ticket: number; label: string; failed: boolean };

export interface StoryStep {
  index: number;
  step: TourStep;
  marks: Mark[];
  /** Participants in order of attachment (the bus first when it takes part). */
  participants: { id: number; name: string }[];
  /** Where each queued entry came from, for arrows that cross steps. */
  origins: ReadonlyMap<number, { from: number; style: ArrowStyle; label: string }>;
  /** What `tessera tour` prints for this step. */
  lines: string[];
}

type WithPeer = { peer: number };

function unprefixed(op: Operation, world: TourWorld): string {
  const text = world.who(formatOp(op));
  const name = 'peer' in op ? world.names.get((op as WithPeer).peer) : undefined;
  return name && text.startsWith(`${name}.`) ? text.slice(name.length + 1) : text;
}

function deliveriesOf(op: Operation, outcome: StepOutcome): Delivery[] {
  const out: Delivery[] = [];
  const r = outcome.result;
  if ((op.op === 'receive' || op.op === 'replyReceive') && !('pending' in r) && r.ok)
    out.push(...(r.value as { deliveries: Delivery[] }).deliveries);
  for (const c of outcome.completions) {
    if (c.op === 'receive' && c.result.ok) out.push(...(c.result.value as { deliveries: Delivery[] }).deliveries);
  }
  return out;
}

function noticeType(outcome: StepOutcome, to: number, seq: number): string {
  const entry = outcome.state.peers[to]?.queue.find((e) => e.seq === seq);
  return (entry?.notice as Notice | undefined)?.type ?? '';
}

/** Records one run of the tour as marks, step by step. */
class Recorder {
  readonly steps: StoryStep[] = [];
  private readonly origins = new Map<number, { from: number; style: ArrowStyle; label: string }>();
  /** Messages the current operation queued so far (a multicast queues one copy per destination). */
  private copies = 0;

  begin(index: number, step: TourStep): void {
    this.steps.push({ index, step, marks: [], participants: [], origins: this.origins, lines: [] });
  }

  line(text: string): void {
    this.steps[this.steps.length - 1]?.lines.push(text);
  }

  private push(mark: Mark): void {
    this.steps[this.steps.length - 1].marks.push(mark);
  }

  operation(op: Operation, outcome: StepOutcome, world: TourWorld): void {
    const r = outcome.result;
    const peer = op.op === 'attach' ? this.attachedPeer(outcome) : ((op as Partial<WithPeer>).peer ?? BUS);
    const text = unprefixed(op, world);
    if (!('pending' in r) && !r.ok) this.push({ kind: 'failure', peer, label: `${text} → ${r.error}` });
    else if (op.op === 'attach') this.push({ kind: 'attach', peer, label: text });
    else if (!['send', 'call', 'multicast', 'receive', 'reply', 'replyReceive', 'close'].includes(op.op))
      this.push({ kind: 'self', peer, label: `${text} → ${world.who(formatInvocation(r))}` });
    else if ((op.op === 'receive' || op.op === 'replyReceive') && deliveriesOf(op, outcome).length === 0)
      this.push({ kind: 'self', peer, label: `${text} → nothing` });
    this.events(op, outcome, world, peer, text);
    // A closing peer's lifeline ends below what its close did (notices sent, entries discarded).
    if (op.op === 'close' && !('pending' in r) && r.ok) this.push({ kind: 'close', peer, label: text });
    if ('pending' in r && op.op === 'call') this.push({ kind: 'wait', peer, ticket: r.ticket });
  }

  private attachedPeer(outcome: StepOutcome): number {
    const r = outcome.result;
    return !('pending' in r) && r.ok ? (r.value as { peer: number }).peer : BUS;
  }

  private events(op: Operation, outcome: StepOutcome, world: TourWorld, peer: number, text: string): void {
    const deliveries = deliveriesOf(op, outcome);
    this.copies = 0;
    for (const e of outcome.events) this.event(e, op, outcome, world, peer, text, deliveries);
  }

  private event(
    e: BusEvent,
    op: Operation,
    outcome: StepOutcome,
    world: TourWorld,
    peer: number,
    text: string,
    deliveries: Delivery[],
  ): void {
    if (e.type === 'enqueue') {
      const style: ArrowStyle = e.from === BUS ? 'notice' : e.kind === 'call' ? 'call' : 'message';
      // The bus sends a notice (NOTICE-1); it is drawn from the peer whose operation caused it.
      const from = style === 'notice' && op.op !== 'attach' ? peer : e.from;
      const copies = style === 'notice' ? 0 : this.copies++;
      const label =
        style === 'notice' ? `notice ${noticeType(outcome, e.to, e.seq)}`.trim() : copies === 0 ? text : `copy ${copies + 1}`;
      this.origins.set(e.seq, { from, style, label });
      this.push({ kind: 'send', seq: e.seq, from, to: e.to, style, label });
    } else if (e.type === 'dequeue') {
      const d = deliveries.shift();
      this.push({ kind: 'deliver', seq: e.seq, peer: e.peer, label: d ? world.who(formatDelivery(d)) : 'delivered' });
    } else if (e.type === 'discard') {
      this.push({ kind: 'discard', seq: e.seq, peer: e.peer, label: 'discarded unread' });
    } else {
      const c = outcome.completions.find((x) => x.ticket === e.ticket);
      if (c) this.completion(c, op, world, peer);
    }
  }

  private completion(c: Completion, op: Operation, world: TourWorld, peer: number): void {
    const replied = (op.op === 'reply' || op.op === 'replyReceive') && c.op === 'call' && c.result.ok;
    if (replied) this.push({ kind: 'reply', from: peer, to: c.peer, ticket: c.ticket, label: unprefixed(op, world) });
    else
      this.push({
        kind: 'outcome',
        peer: c.peer,
        ticket: c.ticket,
        label: world.who(formatCompletion(c)),
        failed: !c.result.ok,
      });
  }

  /** After the run: each step's participants, in order of attachment. */
  finish(world: TourWorld): StoryStep[] {
    const order = [...world.names.keys()];
    for (const s of this.steps) {
      const ids = new Set<number>();
      for (const m of s.marks) {
        if ('peer' in m) ids.add(m.peer);
        if ('from' in m) ids.add(m.from);
        if ('to' in m) ids.add(m.to);
        if (m.kind === 'attach') ids.add(BUS);
        if (m.kind === 'deliver' || m.kind === 'discard') ids.add(this.origins.get(m.seq)?.from ?? BUS);
      }
      s.participants = [BUS, ...order]
        .filter((id) => ids.has(id))
        .map((id) => ({ id, name: id === BUS ? 'bus' : (world.names.get(id) ?? `p${id}`) }));
    }
    return this.steps;
  }
}

/** Run the tour (its steps by default) and record each step for the tutorial. */
export async function recordStory(steps: readonly TourStep[] = TOUR_STEPS): Promise<StoryStep[]> {
  const recorder = new Recorder();
  const world = await runTour(
    {
      step: (i, step) => recorder.begin(i, step),
      operation: (op, outcome, w) => recorder.operation(op, outcome, w),
      line: (text) => recorder.line(text),
    },
    steps,
  );
  return recorder.finish(world);
}
