// Transport profiles: what each step of the simulation costs on a transport, and which
// mechanisms it has. The Profile JSON Schema under simulator/schema/ is generated from these
// (through simulator/types.ts).
import type { CostNs, Nanos } from './types';

/** One cost with where its number comes from. */
export interface Cost {
  ns: CostNs;
  /**
   * Where the number comes from (a measurement, a calibration run, or reasoning).
   * @maxLength 4096
   */
  source: string;
}

/** CPU cost and kernel entries of one protocol operation on a transport. */
export interface OpCost {
  cpu: Cost;
  /**
   * System calls the operation makes (0 for a user-space fast path): 0 to 1000.
   * @TJS-type integer
   * @minimum 0
   * @maximum 1000
   */
  syscalls: number;
}

/** A transport as data: what each step costs (nanoseconds) and which mechanisms it has. */
export interface Profile {
  /**
   * @pattern ^[a-z0-9_]+$
   * @maxLength 64
   */
  name: string;
  /** @maxLength 4096 */
  description: string;
  /** One system call entry and exit (included in op cpu costs; counted separately). */
  syscall: Cost;
  /** Copying one KiB of payload once. */
  copyPerKiB: Cost;
  /**
   * How many times a payload is copied between sender and receiver: 0 to 16.
   * @TJS-type integer
   * @minimum 0
   * @maximum 16
   */
  copies: number;
  /** Passing one handle (fd for AF_UNIX SCM_RIGHTS). */
  handleTransfer: Cost;
  ops: {
    send: OpCost;
    call: OpCost;
    reply: OpCost;
    /** One receive call (whatever it returns). */
    receive: OpCost;
    /** Per delivery taken by a receive. */
    receivePerMessage: Cost;
    /** Extra per destination of a multicast. */
    multicastPerDestination: Cost;
    /** mint, release, revoke, destroyNode, createNode, close. */
    control: OpCost;
  };
  wake: {
    /** CPU the waker spends waking a sleeping thread. */
    waker: Cost;
    /** Whether waking a sleeper is its own system call (futex wake) rather than part of the op's. */
    wakeIsSyscall: boolean;
    /** From the wake to the woken thread being runnable on a CPU (scheduler path, IPI). */
    latency: Cost;
    /** CPU spent going to sleep. */
    sleep: Cost;
    sleepIsSyscall: boolean;
    /** How long a spinning waiter takes to see a change made on another CPU. */
    spinObserve: Cost;
  };
  scheduler: {
    contextSwitch: Cost;
    /** Extra when a thread resumes on another CPU than it last ran on. */
    migration: Cost;
    /**
     * Time slice (EEVDF base slice): a thread that has run this long loses its CPU at the next
     * scheduler tick to a thread waiting in its run queue (to the back of the least loaded run
     * queue). Absent or 0: no time slicing and no preemption (threads keep a CPU until they wait).
     */
    slice?: Cost;
    /**
     * How long a thread that got a CPU keeps it against a thread woken onto its CPU (at most the
     * slice); a thread woken later preempts it (a spinner at once, a worker at its next
     * operation). Absent: 0.
     */
    wakeupProtection?: Cost;
    /** Scheduler tick (1 / CONFIG_HZ); absent or 0: the slice ends the turn at once. */
    tick?: Cost;
  };
  spin: {
    /** Spin this long before sleeping (0: sleep at once). */
    budget: Cost;
    /** Skip the spin when it is not likely to pay (run queue busy, or recent waits longer than the budget). */
    adaptive: boolean;
    /**
     * With adaptive: the shm backend's rule instead (backends/shm DESIGN.md): a wait that ends
     * while spinning resets the budget to the maximum; one that has to sleep divides it by
     * `divisor`, to 0 below `floorNs`; at 0 every `probeEvery`th wait spins the full budget.
     */
    backoff?: SpinBackoff;
  };
  handoff: {
    /** A call switches its CPU straight to the server thread waiting in receive. */
    call: boolean;
    /** A reply switches straight to the caller when the replier is about to wait. */
    reply: boolean;
    /** The cost of such a direct switch (instead of wake latency + context switch). */
    switch: Cost;
  };
  /** A receive takes up to max deliveries (else one per receive call). */
  batchReceive: boolean;
  /** A receive right after a reply shares its system call (binder's write+read ioctl). */
  fuseReplyReceive: boolean;
}

export interface SpinBackoff {
  /**
   * @minimum 1
   * @maximum 1000000
   */
  divisor: number;
  floorNs: Nanos;
  /**
   * @TJS-type integer
   * @minimum 1
   * @maximum 1000000
   */
  probeEvery: number;
  /** @maxLength 4096 */
  source: string;
}
