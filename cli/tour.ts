// The tour: the story of the protocol, told by running it on the reference
// backend (every operation goes through the formal model). Its steps are
// data: `tessera tour` prints them as it runs them, and the docs generator runs
// the same steps to draw the tutorial's sequence diagrams, so a step added
// here appears in both.
import type { Credentials, Delivery, HandleName, Operation } from '../spec/types';
import type { StepOutcome } from '../model';
import { type BootstrapInput, Bus, type Peer, TesseraError, payloadText } from '../backends/reference';
import { formatCompletion, formatDelivery, formatInvocation, formatOp } from '../conformance/format';

/** One chapter of the story. */
export interface TourStep {
  /** A few words, for the tutorial's heading. */
  title: string;
  /** What happens and why, citing the clauses it shows. */
  story: string;
  run(t: TourWorld): void | Promise<void>;
}

/** What watches a run of the tour: the printer, or the tutorial's recorder. */
export interface TourObserver {
  /** A step begins (index from 0). */
  step?(index: number, step: TourStep): void;
  /** An operation ran, with everything the model says it did. */
  operation?(op: Operation, outcome: StepOutcome, world: TourWorld): void;
  /** A line of the tour's own output (operations, deliveries, remarks). */
  line?(text: string): void;
}

type MessageDelivery = Extract<Delivery, { kind: 'message' }>;
type CallDelivery = Extract<Delivery, { kind: 'call' }>;

/** The bus of the story, its named peers and the handles the steps pass on to later steps. */
export class TourWorld {
  readonly bus: Bus;
  /** Peer id -> name, in order of attachment. */
  readonly names = new Map<number, string>();
  private readonly peers = new Map<string, Peer>();
  private readonly handles = new Map<string, HandleName>();

  constructor(private readonly observer: TourObserver) {
    this.bus = new Bus({
      clock: 'virtual',
      observe: (op, outcome) => this.observed(op, outcome),
      limits: { queueCapacityMessages: 8, senderQuotaMessages: 4 },
    });
  }

  /** Peer names in place of `pN` in a formatted line. */
  who(text: string): string {
    return text.replace(/\bp(\d+)\b/g, (m, id) => this.names.get(Number(id)) ?? m);
  }

  line(text: string): void {
    this.observer.line?.(text);
  }

  /** The bus owner attaches a named peer (BUS-2, BUS-3). */
  attach(name: string, credentials: Credentials, bootstrap: BootstrapInput[] = []): Peer {
    const peer = this.bus.attach(credentials, bootstrap);
    this.names.set(peer.id, name);
    this.peers.set(name, peer);
    return peer;
  }

  peer(name: string): Peer {
    const p = this.peers.get(name);
    if (!p) throw new Error(`the tour has no peer "${name}" yet`);
    return p;
  }

  /** Remember a handle name for later steps. */
  keep(name: string, handle: HandleName): HandleName {
    this.handles.set(name, handle);
    return handle;
  }

  handle(name: string): HandleName {
    const h = this.handles.get(name);
    if (h === undefined) throw new Error(`the tour has no handle "${name}" yet`);
    return h;
  }

  /** Everything waiting in a peer's queue, printed. */
  receive(name: string): Delivery[] {
    const peer = this.peer(name);
    const ds = peer.tryReceive();
    for (const d of ds) this.line(`      ${name} got ${this.who(formatDelivery(d))}`);
    return ds;
  }

  /** The first handle carried by the one message a peer receives now. */
  receiveHandle(name: string): HandleName {
    const [d] = this.receive(name);
    return (d as MessageDelivery).handles[0].name!;
  }

  /** The reply handle of the one call a peer receives now. */
  receiveCall(name: string): HandleName {
    const [d] = this.receive(name);
    return (d as CallDelivery).replyHandle;
  }

  /** A peer answers a call and takes what is queued for it, in one step (CALL-10); printed like receive. */
  async replyReceive(name: string, replyHandle: HandleName, payload: string): Promise<Delivery[]> {
    const ds = await this.peer(name).replyReceive(replyHandle, { payload }, { timeoutMs: 0 });
    for (const d of ds) this.line(`      ${name} got ${this.who(formatDelivery(d))}`);
    return ds;
  }

  /** An operation the story expects to fail: its error is printed with it, and the story goes on. */
  attempt(what: () => unknown): void {
    try {
      what();
    } catch (e) {
      if (!(e instanceof TesseraError)) throw e;
    }
  }

  private observed(op: Operation, outcome: StepOutcome): void {
    const r = outcome.result;
    const shown =
      (op.op === 'receive' || op.op === 'replyReceive') && !('pending' in r) && r.ok
        ? `ok, ${(r.value as { deliveries: unknown[] }).deliveries.length} deliveries:`
        : formatInvocation(r);
    this.line(`    ${this.who(formatOp(op))}  ->  ${this.who(shown)}`);
    for (const c of outcome.completions) this.line(`      completes ${this.who(formatCompletion(c))}`);
    this.observer.operation?.(op, outcome, this);
  }
}

/** The story, in order. */
export const TOUR_STEPS: readonly TourStep[] = [
  {
    title: 'A service and its node',
    story: 'A service attaches and creates a node whose messages carry sender credentials (NODE-1, CRED-1).',
    run(t) {
      const service = t.attach('service', { uid: 100, gid: 100, pid: 1000 });
      const svc = t.keep('svc', service.createNode({ credentials: true }));
      t.keep('introducer', service.mint(svc, { rights: ['send', 'grant'], badge: 8 }));
    },
  },
  {
    title: 'Bootstrap handles',
    story:
      'The bus owner attaches client A with two handles to the service: a send-only, non-grantable one badged 7, ' +
      'and an introducer handle badged 8 that A may pass on (BUS-3, MINT-3, HANDLE-4).',
    run(t) {
      const service = t.peer('service');
      const alice = t.attach('alice', { uid: 501, gid: 20, pid: 2001 }, [
        { from: service, handle: t.handle('svc'), rights: ['send'], badge: 7 },
        { from: service, handle: t.handle('introducer'), rights: ['send', 'grant'] },
      ]);
      t.keep('aliceToService', alice.bootstrap[0]);
      t.keep('aliceIntroducer', alice.bootstrap[1]);
      t.keep('aliceInbox', alice.createNode());
    },
  },
  {
    title: 'An introduction',
    story: 'Client B knows only A. It introduces itself by sending A a handle to its own node (SEND-4).',
    run(t) {
      const bob = t.attach('bob', { uid: 502, gid: 20, pid: 2002 }, [
        { from: t.peer('alice'), handle: t.handle('aliceInbox'), rights: ['send'] },
      ]);
      const bobInbox = t.keep('bobInbox', bob.createNode());
      bob.send(bob.bootstrap[0], { payload: 'hello, I am bob', handles: [{ handle: bobInbox, rights: ['send'] }] });
      t.keep('aliceToBob', t.receiveHandle('alice'));
    },
  },
  {
    title: 'Attenuation on the way',
    story:
      'A checks that both its handles lead to the same service (NODE-6). It cannot pass on its send-only handle ' +
      '(NO_RIGHTS), so it introduces B with a further-attenuated copy of the introducer: send only, no grant, ' +
      'badge 8 kept (MINT-2, SEND-4, INV-2).',
    run(t) {
      const alice = t.peer('alice');
      const aliceToBob = t.handle('aliceToBob');
      alice.sameNode(t.handle('aliceToService'), t.handle('aliceIntroducer'));
      t.attempt(() => alice.send(aliceToBob, { payload: 'try', handles: [{ handle: t.handle('aliceToService') }] }));
      const copy = { handle: t.handle('aliceIntroducer'), rights: ['send' as const] };
      alice.send(aliceToBob, { payload: 'meet the service', handles: [copy] });
      const bobToService = t.keep('bobToService', t.receiveHandle('bob'));
      t.peer('bob').send(bobToService, { payload: 'hi service, alice sent me' });
      t.receive('service');
    },
  },
  {
    title: 'A delegated reply',
    story:
      'A worker joins the service. A calls the service; the service delegates the reply by moving the ' +
      'reply handle to the worker, which answers A directly (CALL-1, CALL-5, SEND-6).',
    async run(t) {
      const service = t.peer('service');
      const worker = t.attach('worker', { uid: 100, gid: 100, pid: 1001 }, [
        { from: service, handle: t.handle('svc'), rights: ['send'] },
      ]);
      const workerInbox = t.keep('workerInbox', worker.createNode());
      worker.send(worker.bootstrap[0], { payload: 'ready', handles: [{ handle: workerInbox, rights: ['send'] }] });
      const serviceToWorker = t.keep('serviceToWorker', t.receiveHandle('service'));
      const question = t.peer('alice').call(t.handle('aliceToService'), { payload: 'what is 6 x 7?' });
      const replyHandle = t.receiveCall('service');
      service.send(serviceToWorker, { payload: 'please answer', handles: [{ handle: replyHandle, move: true }] });
      worker.reply(t.receiveHandle('worker'), { payload: '42' });
      t.line(`      alice's call resolved with ${JSON.stringify(payloadText(await question))}`);
    },
  },
  {
    title: 'A server loop',
    story:
      'A calls the service twice. The service answers the first call and takes the second in one step, as ' +
      "seL4's ReplyRecv does: the answer comes first, then the receive (CALL-10).",
    async run(t) {
      const alice = t.peer('alice');
      const first = alice.call(t.handle('aliceToService'), { payload: 'first question' });
      const replyHandle = t.receiveCall('service');
      const second = alice.call(t.handle('aliceToService'), { payload: 'second question' });
      const [next] = await t.replyReceive('service', replyHandle, 'first answer');
      t.peer('service').reply((next as CallDelivery).replyHandle, { payload: 'second answer' });
      t.line(
        `      alice got ${JSON.stringify(payloadText(await first))} and ${JSON.stringify(payloadText(await second))}`,
      );
    },
  },
  {
    title: 'Calls given up',
    story:
      'A calls the service with a 50 ms timeout, and the clock passes it before the service looks: the call is ' +
      'withdrawn, so the service never works on a question nobody waits for. A calls again and cancels after the service has taken ' +
      'the call: the service is told, and its late reply fails CALLER_GONE (TIME-4, CALL-8, CANCEL-1, CALL-9).',
    async run(t) {
      const alice = t.peer('alice');
      const late = alice.call(t.handle('aliceToService'), { payload: 'quick question' }, { timeoutMs: 50 });
      late.catch(() => undefined); // its outcome is printed as a completion
      t.bus.tick(50);
      t.receive('service');
      const call = alice.startCall(t.handle('aliceToService'), { payload: 'slow question' });
      call.reply.catch(() => undefined);
      const replyHandle = t.receiveCall('service');
      alice.cancel(call.ticket!);
      t.receive('service');
      t.attempt(() => t.peer('service').reply(replyHandle, { payload: 'too late' }));
    },
  },
  {
    title: 'A multicast',
    story:
      'A multicasts one message to the service and to B: one place in the bus order for each copy (MCAST-3, ORDER-3).',
    run(t) {
      t.peer('alice').multicast([t.handle('aliceToService'), t.handle('aliceToBob')], { payload: 'news for everyone' });
      t.receive('service');
      t.receive('bob');
    },
  },
  {
    title: 'A slow subscriber',
    story:
      'A publishes news to the service and to B, skipping members whose queue is full. The service reads, B does ' +
      'not: once B holds its share of A in its queue, each result names B as full and the service still gets ' +
      'everything. When B reads, A gets one room notice (MCAST-6, QUOTA-5).',
    run(t) {
      const alice = t.peer('alice');
      for (let i = 1; i <= 5; i++) {
        alice.publish([t.handle('aliceToService'), t.handle('aliceToBob')], { payload: `news ${i}` });
        t.receive('service');
      }
      t.receive('bob');
      t.receive('alice');
    },
  },
  {
    title: 'A revocation',
    story:
      "The service revokes everything derived from the introducer: B's copy dies wherever it is, " +
      'B gets one revoked notice, and the introducer itself stays valid (REVOKE-1, REVOKE-2).',
    run(t) {
      t.peer('service').revoke(t.handle('introducer'));
      t.receive('bob');
      t.receive('alice');
      t.attempt(() => t.peer('bob').send(t.handle('bobToService'), { payload: 'still there?' }));
    },
  },
  {
    title: 'A node dies',
    story:
      'The service destroys its node: every other handle to it dies with a node-destroyed notice, ' +
      'queued messages are discarded, pending calls fail DEAD (DESTROY-2..4).',
    run(t) {
      const alice = t.peer('alice');
      alice.send(t.handle('aliceToService'), { payload: 'queued, never read' });
      t.peer('service').destroyNode(t.handle('svc'));
      t.receive('alice');
      t.receive('worker');
      t.attempt(() => alice.send(t.handle('aliceToService'), { payload: 'anyone?' }));
    },
  },
  {
    title: 'Retiring a node safely',
    story:
      'The worker retires its inbox: when the last handle to it goes, it hears no-senders, and destroys the node ' +
      'only if nothing was derived since the count in the notice, so no message sent after the notice can be lost ' +
      '(NOTICE-2, NOTICE-6, DESTROY-5).',
    run(t) {
      t.peer('service').release(t.handle('serviceToWorker'));
      const [quiet] = t.receive('worker');
      const { derivedCount } = (quiet as Extract<Delivery, { kind: 'notice' }>).notice as { derivedCount: number };
      t.peer('worker').destroyNode(t.handle('workerInbox'), { derivedCount });
    },
  },
  {
    title: 'Closing',
    story: 'Everyone closes: nodes die, handles are released, queues discarded; nothing remains (CLOSE-1..4, INV-5).',
    run(t) {
      t.peer('alice').close();
      t.receive('bob');
      for (const name of ['bob', 'worker', 'service']) t.peer(name).close();
      const end = t.bus.snapshot();
      t.line(
        `      left on the bus: ${Object.keys(end.handles).length} handles, ${Object.keys(end.nodes).length} nodes, ` +
          `${Object.keys(end.calls).length} calls, ${end.pending.length} pending operations`,
      );
    },
  },
];

/** Wrap a paragraph for the terminal, continuation lines indented. */
function wrap(text: string, width: number, indent: string): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = indent + word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line].join('\n');
}

/** Run the steps (all of the story by default) with an observer; returns the world at the end. */
export async function runTour(observer: TourObserver, steps: readonly TourStep[] = TOUR_STEPS): Promise<TourWorld> {
  const world = new TourWorld(observer);
  for (const [i, step] of steps.entries()) {
    observer.step?.(i, step);
    await step.run(world);
  }
  return world;
}

export interface TourOptions {
  log?: (line: string) => void;
}

/** Run the narrated protocol story; returns the number of operations it ran. */
export async function protocolTour(options: TourOptions = {}): Promise<number> {
  const log = options.log ?? ((line: string) => console.log(line));
  let operations = 0;
  log('Tessera tour: the protocol on the reference backend (every step goes through the formal model)');
  await runTour({
    step: (i, step) => log(`\n  ${wrap(`${i + 1}. ${step.story}`, 116, '     ')}`),
    operation: () => operations++,
    line: log,
  });
  return operations;
}
