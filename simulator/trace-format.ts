// The JSON-lines trace a run writes with `tessera sim --trace FILE` (engine/bus-door.ts
// traceStep), described as data: the docs print it, and a test holds every line of a real
// trace to it. One line per model operation (by a simulated thread or the bus itself: setup,
// clock ticks, faults, the final closes), then one line per bus event that operation caused.

export interface TraceField {
  name: string;
  /** The JSON type, in words. */
  type: string;
  /** Whether every line of its kind has it. */
  always: boolean;
  meaning: string;
}

/** An operation line: `{"tNs":1234,"thread":"client#0","peer":3,"op":"call","handle":7,"result":{"pending":12}}`. */
export const TRACE_OPERATION_FIELDS: readonly TraceField[] = [
  { name: 'tNs', type: 'integer', always: true, meaning: 'Simulated time of the operation taking effect, ns.' },
  {
    name: 'thread',
    type: 'string',
    always: true,
    meaning:
      'The simulated thread that made it (`peer#k`), or `bus` for the bus itself (setup, clock ticks, faults, the closes after the workload).',
  },
  {
    name: 'peer',
    type: 'integer or null',
    always: true,
    meaning: "The model's peer id the operation is made for; null for a clock tick or an attach.",
  },
  {
    name: 'op',
    type: 'string',
    always: true,
    meaning:
      'The operation (attach, createNode, send, call, reply, receive, multicast, mint, release, revoke, destroyNode, close, tick).',
  },
  {
    name: 'handle',
    type: 'integer',
    always: false,
    meaning: 'The handle it goes through, for operations that take one.',
  },
  { name: 'handles', type: 'integer[]', always: false, meaning: 'The handles of a multicast.' },
  { name: 'ms', type: 'integer', always: false, meaning: "A tick's step of the bus clock, ms." },
  {
    name: 'result',
    type: 'object',
    always: true,
    meaning:
      '`{"ok":true}`, `{"error":"CODE"}`, or `{"pending":ticket}` for an operation that waits (its completion comes later, as events of the operation that completes it).',
  },
];

/** An event line: `{"tNs":1234,"event":"enqueue", ...the event's own fields}`. */
export const TRACE_EVENT_FIELDS: readonly TraceField[] = [
  {
    name: 'tNs',
    type: 'integer',
    always: true,
    meaning: 'Simulated time, ns: the time of the operation that caused the event.',
  },
  {
    name: 'event',
    type: 'string',
    always: true,
    meaning:
      "The model's bus event type; the rest of the line is that event's fields (listed below from a real trace).",
  },
];

/** A trace that grows past this many lines ends with `{"truncatedAfterLines": N}`. */
export { MAX_TRACE_LINES } from './engine/bus-door';
