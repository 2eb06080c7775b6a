// The tour: the story of the protocol, told by running it on the reference
// backend and printing every operation, its result and every delivery.
import type { Delivery, Operation } from '../spec/types';
import type { StepOutcome } from '../model';
import { Bus, type Peer, TesseraError, payloadText } from '../backends/reference';
import { formatCompletion, formatDelivery, formatInvocation, formatOp } from '../conformance/format';

export interface TourOptions {
  log?: (line: string) => void;
}

/** Run the narrated protocol story; returns the number of operations it ran. */
export async function protocolTour(options: TourOptions = {}): Promise<number> {
  const log = options.log ?? ((line: string) => console.log(line));
  const names = new Map<number, string>();
  const who = (text: string) => text.replace(/\bp(\d+)\b/g, (m, id) => names.get(Number(id)) ?? m);
  let steps = 0;
  const observe = (op: Operation, outcome: StepOutcome) => {
    steps++;
    const r = outcome.result;
    const shown =
      op.op === 'receive' && !('pending' in r) && r.ok
        ? `ok, ${(r.value as { deliveries: unknown[] }).deliveries.length} deliveries:`
        : formatInvocation(r);
    log(`    ${who(formatOp(op))}  ->  ${who(shown)}`);
    for (const c of outcome.completions) log(`      completes ${who(formatCompletion(c))}`);
  };
  const bus = new Bus({ clock: 'virtual', observe, limits: { queueCapacityMessages: 8, senderQuotaMessages: 4 } });
  const say = (text: string) => log(`\n  ${text}`);
  const named = (peer: Peer, name: string) => {
    names.set(peer.id, name);
    return peer;
  };
  const show = (peer: Peer, ds: Delivery[]) => {
    for (const d of ds) log(`      ${names.get(peer.id)} got ${who(formatDelivery(d))}`);
    return ds;
  };
  const attempt = (what: () => unknown) => {
    try {
      what();
    } catch (e) {
      if (!(e instanceof TesseraError)) throw e;
    }
  };

  log('Tessera tour: the protocol on the reference backend (every step goes through the formal model)');

  say('1. A service attaches and creates a node whose messages carry sender credentials (NODE-1, CRED-1).');
  const service = named(bus.attach({ uid: 100, gid: 100, pid: 1000 }), 'service');
  const svc = service.createNode({ credentials: true });
  const introducer = service.mint(svc, { rights: ['send', 'grant'], badge: 8 });

  say(
    '2. The bus owner attaches client A with two handles to the service: a send-only, non-grantable one badged 7,\n' +
      '     and an introducer handle badged 8 that A may pass on (BUS-3, MINT-3, HANDLE-4).',
  );
  const alice = named(
    bus.attach({ uid: 501, gid: 20, pid: 2001 }, [
      { from: service, handle: svc, rights: ['send'], badge: 7 },
      { from: service, handle: introducer, rights: ['send', 'grant'] },
    ]),
    'alice',
  );
  const [aliceToService, aliceIntroducer] = alice.bootstrap;
  const aliceInbox = alice.createNode();

  say('3. Client B knows only A. It introduces itself by sending A a handle to its own node (SEND-4).');
  const bob = named(
    bus.attach({ uid: 502, gid: 20, pid: 2002 }, [{ from: alice, handle: aliceInbox, rights: ['send'] }]),
    'bob',
  );
  const bobInbox = bob.createNode();
  bob.send(bob.bootstrap[0], { payload: 'hello, I am bob', handles: [{ handle: bobInbox, rights: ['send'] }] });
  const [hello] = show(alice, alice.tryReceive());
  const aliceToBob = (hello as Extract<Delivery, { kind: 'message' }>).handles[0].name!;

  say(
    '4. A checks that both its handles lead to the same service (NODE-6). It cannot pass on its send-only\n' +
      '     handle (NO_RIGHTS), so it introduces B with a further-attenuated copy of the introducer: send only,\n' +
      '     no grant, badge 8 kept (MINT-2, SEND-4, INV-2).',
  );
  alice.sameNode(aliceToService, aliceIntroducer);
  attempt(() => alice.send(aliceToBob, { payload: 'try', handles: [{ handle: aliceToService }] }));
  alice.send(aliceToBob, { payload: 'meet the service', handles: [{ handle: aliceIntroducer, rights: ['send'] }] });
  const [intro] = show(bob, bob.tryReceive());
  const bobToService = (intro as Extract<Delivery, { kind: 'message' }>).handles[0].name!;
  bob.send(bobToService, { payload: 'hi service, alice sent me' });
  show(service, service.tryReceive());

  say(
    '5. A worker joins the service. A calls the service; the service delegates the reply by moving the\n' +
      '     reply handle to the worker, which answers A directly (CALL-1, CALL-5, SEND-6).',
  );
  const worker = named(
    bus.attach({ uid: 100, gid: 100, pid: 1001 }, [{ from: service, handle: svc, rights: ['send'] }]),
    'worker',
  );
  const workerInbox = worker.createNode();
  worker.send(worker.bootstrap[0], {
    payload: 'ready',
    handles: [{ handle: workerInbox, rights: ['send'], move: false }],
  });
  const [ready] = show(service, service.tryReceive());
  const serviceToWorker = (ready as Extract<Delivery, { kind: 'message' }>).handles[0].name!;
  const answer = alice.call(aliceToService, { payload: 'what is 6 x 7?' });
  const [request] = show(service, service.tryReceive());
  service.send(serviceToWorker, {
    payload: 'please answer',
    handles: [{ handle: (request as Extract<Delivery, { kind: 'call' }>).replyHandle, move: true }],
  });
  const [job] = show(worker, worker.tryReceive());
  worker.reply((job as Extract<Delivery, { kind: 'message' }>).handles[0].name!, { payload: '42' });
  log(`      alice's call resolved with ${JSON.stringify(payloadText(await answer))}`);

  say(
    '6. A multicasts one message to the service and to B: one place in the bus order for each copy (MCAST-3, ORDER-3).',
  );
  alice.multicast([aliceToService, aliceToBob], { payload: 'news for everyone' });
  show(service, service.tryReceive());
  show(bob, bob.tryReceive());

  say(
    "7. The service revokes everything derived from the introducer: B's copy dies wherever it is,\n" +
      '     B gets one revoked notice, and the introducer itself stays valid (REVOKE-1, REVOKE-2).',
  );
  service.revoke(introducer);
  show(bob, bob.tryReceive());
  show(alice, alice.tryReceive());
  attempt(() => bob.send(bobToService, { payload: 'still there?' }));

  say(
    '8. The service destroys its node: every other handle to it dies with a node-destroyed notice,\n' +
      '     queued messages are discarded, pending calls fail DEAD (DESTROY-2..4).',
  );
  alice.send(aliceToService, { payload: 'queued, never read' });
  service.destroyNode(svc);
  show(alice, alice.tryReceive());
  show(worker, worker.tryReceive());
  attempt(() => alice.send(aliceToService, { payload: 'anyone?' }));

  say(
    '9. The worker retires its inbox safely: when the last handle to it goes, it hears no-senders, and destroys\n' +
      '     the node only if nothing was derived since the count in the notice, so no message sent after the\n' +
      '     notice can be lost (NOTICE-2, NOTICE-6, DESTROY-5).',
  );
  service.release(serviceToWorker);
  const [quiet] = show(worker, worker.tryReceive());
  const { derivedCount } = (quiet as Extract<Delivery, { kind: 'notice' }>).notice as { derivedCount: number };
  worker.destroyNode(workerInbox, { derivedCount });

  say('10. Everyone closes: nodes die, handles are released, queues discarded; nothing remains (CLOSE-1..4, INV-5).');
  alice.close();
  show(bob, bob.tryReceive());
  bob.close();
  worker.close();
  service.close();
  const end = bus.snapshot();
  log(
    `      left on the bus: ${Object.keys(end.handles).length} handles, ${Object.keys(end.nodes).length} nodes, ` +
      `${Object.keys(end.calls).length} calls, ${end.pending.length} pending operations`,
  );
  return steps;
}
