// One concurrent run of client plans in hosts the driver owns (worker threads or processes):
// every host is given its plan, the run waits until all are armed (or one ended), then
// releases them at once, and gathers what each recorded. The drivers that run clients in
// their own threads or processes (shm-workers, broker) share it; each says how a plan is
// handed to a host and how the hosts are released.
import { DriverError } from '../protocol/driver';
import type { ClientPlan, RecordedOp } from '../protocol/clients';
import type { Invocation } from '../spec/types';

/** What a driver keeps of a host running one peer: its pending requests and its run hooks. */
export interface ClientHost {
  waiting: Map<number, { resolve: (r: Invocation) => void; reject: (e: Error) => void }>;
  onRan?: (ops: RecordedOp[]) => void;
  onArmed?: () => void;
  failure?: Error;
}

/** The request id under which a run waits on a host: the host's failure rejects the run. */
const RUN_REQUEST = -1;

export async function runArmedClients<H extends ClientHost>(
  plans: ClientPlan[],
  hostOf: (peer: number) => H | undefined,
  what: string,
  start: (host: H, plan: ClientPlan) => void,
  release: () => void,
): Promise<RecordedOp[]> {
  const hosts = plans.map((plan) => {
    const h = hostOf(plan.peer);
    if (!h) throw new DriverError(`runClients: no ${what} runs peer ${plan.peer}`);
    return h;
  });
  let armed = 0;
  const allArmed = new Promise<void>((resolve) => {
    for (const h of hosts)
      h.onArmed = () => {
        if (++armed === hosts.length) resolve();
      };
  });
  const results = hosts.map(
    (h) =>
      new Promise<RecordedOp[]>((resolve, reject) => {
        h.onRan = resolve;
        if (h.failure) reject(h.failure);
        h.waiting.set(RUN_REQUEST, { resolve: () => undefined, reject });
      }),
  );
  try {
    plans.forEach((plan, k) => start(hosts[k], plan));
    await Promise.race([allArmed, Promise.all(results)]);
    // Release every client at once.
    release();
    // The suite adopts the records in the continuation of this promise: no message is handled in between.
    const out = await Promise.all(results);
    return out.flat();
  } finally {
    for (const h of hosts) {
      h.waiting.delete(RUN_REQUEST);
      h.onRan = undefined;
      h.onArmed = undefined;
    }
  }
}
