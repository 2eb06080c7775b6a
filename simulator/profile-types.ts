// Transport profiles: what each step of the simulation costs on a transport, and which
// mechanisms it has. The Profile JSON Schema under simulator/schema/ is generated from these
// (through simulator/types.ts).
import type { CostNs, Nanos } from './types';

/** One cost with where its number comes from. */
export interface Cost {
  /** The cost in nanoseconds. */
  ns: CostNs;
  /**
   * Where the number comes from (a measurement, a calibration run, or reasoning).
   * @maxLength 4096
   */
  source: string;
}

/** CPU cost and kernel entries of one protocol operation on a transport. */
export interface OpCost {
  /** CPU time of the operation on the caller's thread. */
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
   * Names the transport in results and charts.
   * @pattern ^[a-z0-9_]+$
   * @maxLength 64
   */
  name: string;
  /**
   * What the transport is, for people.
   * @maxLength 4096
   */
  description: string;
  /**
   * The bundled profile this one derives from. A profile file with `extends` gives only what it
   * changes (and its own `name`): each field it gives replaces the bundled profile's, objects
   * merging field by field; the result is checked like any profile.
   * @pattern ^[a-z0-9_]+$
   * @maxLength 64
   */
  extends?: string;
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
  /** What each protocol operation costs. */
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
  /** Sleeping and waking. */
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
  /** The CPU scheduler. */
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
  /** Spinning waiters. */
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
  /** Direct hand-off of the CPU on call and reply. */
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
  /**
   * One lock for the whole bus that every operation of a peer takes (absent: none, or locks
   * fine-grained enough that they never make one peer wait for an unrelated one).
   */
  lock?: BusLock;
}

/**
 * The bus lock and what contention on it costs. An operation runs the first
 * `1 - holdFraction` of its CPU cost outside the lock, then takes the lock and runs the rest
 * holding it; it takes effect (its linearization point) when it releases the lock. The op
 * costs of the profile are those of an uncontended lock, its line moving between two CPUs
 * (how they were measured); contention adds what they cannot hold: waiting for the holder,
 * and a handover that grows with the number of waiters polling one word.
 */
export interface BusLock {
  /**
   * Fraction of each operation's CPU cost (op, copies, handle transfers) spent holding the lock: 0 to 1.
   * @minimum 0
   * @maximum 1
   */
  holdFraction: number;
  /** Moving one cache line from the CPU that wrote it last to another (a miss served by another core's cache). */
  lineTransfer: Cost;
  /**
   * How waiters wait, which sets the handover: `spinning` (test-and-set, CAS or ticket lock: every
   * waiter polls the lock word, so a release invalidates every poller's copy and they re-read it
   * one at a time; the next holder gets it after (S + 1) / 2 line transfers on average, S the
   * spinning waiters, one of them in the op cost already), or `queued` (MCS or Linux qspinlock:
   * each waiter polls its own line; a handover is one transfer, in the op cost already).
   */
  handover: 'spinning' | 'queued';
  /**
   * Spin this long for the lock, then sleep on it (futex) until a release wakes one sleeper;
   * absent: spin until it is free (a kernel spinlock).
   */
  spin?: Cost;
  /**
   * Where the lock's design and numbers come from.
   * @maxLength 4096
   */
  source: string;
}

export interface SpinBackoff {
  /**
   * A wait that had to sleep divides the spin budget by this.
   * @minimum 1
   * @maximum 1000000
   */
  divisor: number;
  /** Below this the budget drops to 0 (no spin). */
  floorNs: Nanos;
  /**
   * At 0, every this-many-th wait spins the full budget again.
   * @TJS-type integer
   * @minimum 1
   * @maximum 1000000
   */
  probeEvery: number;
  /**
   * A wait that had to sleep shrinks the budget only when another thread waits for the spinner's
   * CPU (the two share it: the spin only delayed the other); a spin that ran out while the CPU was
   * its own leaves the budget whole. Absent or false: every such wait shrinks it.
   */
  shrinkOnlyWhenShared?: boolean;
  /**
   * Where the rule comes from.
   * @maxLength 4096
   */
  source: string;
}
