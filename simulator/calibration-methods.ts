// How `tessera calibrate` calibrates each transport it measures: what it measures (bench rows),
// which profile costs each figure fits, what it predicts without fitting, and where the results
// of the bundled profiles' calibration are kept. One table, read by the docs (the simulator
// reference's calibration section) and kept equal to what the fit does by the calibration tests.

export interface CalibrationMethod {
  transport: string;
  /** The bench rows measured, in words. */
  measured: string;
  /** Each fitted figure and the profile costs it moves. */
  fitted: { figure: string; costs: string }[];
  /** Figures predicted and checked, never fitted. */
  predicted: string[];
  /** Costs taken from elsewhere (not fitted, not default). */
  taken?: string;
  /** Whether the bundled profile is this calibration's output (`tessera calibrate --install`). */
  bundled: boolean;
}

const SPINNING_RTT = 'call/reply round trip, spinning (64 B)';
const SLEEPING_RTT = 'call/reply round trip, no spinning (64 B): futex wait and wake each way';
const STREAM = 'one-way stream of 64 B messages';
const LARGE_STREAM = 'one-way stream of 64 KiB messages';
const PER_MESSAGE = 'send, receive and per-delivery costs, scaled together';

export const CALIBRATION_METHODS: readonly CalibrationMethod[] = [
  {
    transport: 'af_unix',
    measured:
      'the C socketpair baselines (or Node net over a Unix socket without a C compiler): round trip, one-way stream, the CPU time of a round trip (a one-client pool run), the RPC pool (one epoll server, 4 client processes)',
    fitted: [
      { figure: STREAM, costs: 'send, call, reply, receive and per-delivery costs, scaled together' },
      { figure: 'CPU time of a round trip', costs: "the wake-up path's CPU costs (context switch, waker, sleep)" },
      { figure: 'call/reply round trip', costs: 'wake-up latency' },
    ],
    predicted: ['RPC pool calls/s (4 clients, 1 server thread)'],
    bundled: false,
  },
  {
    transport: 'tessera_shm',
    measured: "the shm backend's bench between worker threads (shm.call adaptive spin, shm.stream 64 B, shm.rpc)",
    fitted: [
      { figure: STREAM, costs: PER_MESSAGE },
      { figure: SPINNING_RTT, costs: 'call and reply costs, scaled together' },
    ],
    predicted: ['RPC pool calls/s (4 clients, 1 server thread, batches of 64)'],
    taken: "the kernel wake-up path (switch, waker, sleep, latency, migration) from the same run's af_unix fit",
    bundled: false,
  },
  {
    transport: 'tessera_shm_processes',
    measured:
      "the bench's xproc.tessera rows between two OS processes (bench/shm tesseraAcrossProcesses), 5 interleaved runs, the median of each: call/reply spinning (the shm backend's 50 us adaptive budget) and with no spinning, one-way streams of 64 B and 64 KiB, the 64 KiB call/reply",
    fitted: [
      { figure: STREAM, costs: PER_MESSAGE },
      { figure: SPINNING_RTT, costs: 'call and reply costs, scaled together' },
      { figure: SLEEPING_RTT, costs: 'wake-up latency' },
      { figure: 'call/reply round trip of 64 KiB messages, spinning (two payload copies)', costs: 'copy cost per KiB' },
    ],
    predicted: [`${LARGE_STREAM} (its sink copies each message out again)`],
    bundled: true,
  },
  {
    transport: 'tessera_broker',
    measured:
      "the bench's xproc.broker rows, three processes (the broker's owner with its thread, two peers), 5 interleaved runs, the median of each: call round trips spinning (the broker's 50 us policy) and with no spinning, one-way streams of 64 B and 64 KiB (blocking sends, 32 in flight, a warm-up stream first; 64 KiB received 16 at a time through a 4 MiB completion ring); the broker's own account of its request path over the spinning calls",
    fitted: [
      { figure: `${STREAM} (32 in flight)`, costs: PER_MESSAGE },
      { figure: SPINNING_RTT, costs: 'call and reply costs, scaled together' },
      { figure: SLEEPING_RTT, costs: 'wake-up latency' },
      { figure: `${LARGE_STREAM} (32 in flight)`, costs: 'copy cost per KiB' },
    ],
    predicted: [
      "the bus lock's hold per operation against the broker thread's time per request (reading and decoding it, running it on the bus, encoding and writing the answers)",
    ],
    bundled: true,
  },
];

/** Where `tessera calibrate --install` keeps the measurements, fits and checks of the bundled profiles. */
export const BUNDLED_CALIBRATION_DIR = 'simulator/calibration-results/processes';

/** The command that re-calibrates the bundled profiles. */
export const BUNDLED_CALIBRATION_COMMAND = `npx tessera calibrate --only ${CALIBRATION_METHODS.filter((m) => m.bundled)
  .map((m) => m.transport)
  .join(',')} --install --out ${BUNDLED_CALIBRATION_DIR}`;
