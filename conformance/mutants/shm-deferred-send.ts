// The mutant `shm-deferred-send`, a ClientFault (protocol/clients.ts) the shm
// worker driver loads by path: a send answers ok at once and takes effect only
// after the client's next operation. Sequentially nothing shows; concurrently, a
// receive that began after the send answered can miss the message, which no
// linearization allows (ORDER-2). The concurrent phase must catch it.
import type { Invocation, Operation, SendOp } from '../../spec/types';
import type { ClientFault } from '../../protocol/clients';

export function createClientFault(): ClientFault {
  const deferred: SendOp[] = [];
  return {
    async perform(op: Operation, real: (op: Operation) => Promise<Invocation>): Promise<Invocation> {
      const late = deferred.splice(0);
      let out: Invocation;
      if (op?.op === 'send' && !op.timeoutMs) {
        deferred.push(op); // the bug: answered before it happened
        out = { ok: true, value: {} };
      } else out = await real(op);
      for (const send of late) await real(send); // its result is lost: the client was told ok already
      return out;
    },
    reset() {
      deferred.length = 0;
    },
  };
}
