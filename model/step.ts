// The model's one entry point and the pure step function around it.
//
//   applyInPlace(state, op) -> { result, completions, events }   (mutates state)
//   step(state, op)         -> { state, result, completions, events } (pure)
//
// applyInPlace walks the rules of model/rules.ts in ERR-1 order; the first that
// fails decides the error (and a failed operation changes nothing, ATOMIC-1),
// except the failures that act: a send that waits for room (SEND-7), a refusal
// for room, which owes its sender a room notice (QUOTA-5), and a reply to a call
// already resolved (CALL-4). When every rule passes, the effects
// of model/apply.ts run, then the end-of-step settling (TIME-2). `step` is a
// clone of the state, a copy of the operation (read once, ATOMIC-1), and
// applyInPlace: there is one implementation of the effects.
//
// The xstate bus machine below is the same rules drawn as a statechart for the
// docs: one state, `running`; each operation an event whose guards are the
// rules, named after their clauses, and whose action is applyInPlace.
import { assign, setup } from 'xstate';
import type { CallOp, ErrorCode, Invocation, MulticastOp, Operation, ReplyOp, SendOp } from '../spec/types';
import { OPERATIONS } from '../spec/registry/operations';
import type { BusState, StepEffects } from './state';
import { cloneState } from './state';
import { APPLY, block, consumeReplyHandle, settle, type Ctx } from './apply';
import { armRoom } from './effects';
import { copyOp } from './copy';
import { RULES, firstFailure, refusedRooms, ruleName, type Rule } from './rules';
import { lookup, mayWait, mayWaitFor } from './checks';

export interface StepOutcome extends StepEffects {
  state: BusState;
  result: Invocation;
}

/** What a failing rule does instead of only failing: wait (SEND-7), or consume the reply handle (CALL-4). */
function failureActs(op: Operation, rule: Rule): boolean {
  if (rule.onFail === 'consume-reply-handle') return true;
  return rule.onFail === 'block-if-waiting' && mayWaitFor((op as SendOp).timeoutMs);
}

function actOnFailure(ctx: Ctx, op: Operation, rule: Rule, code: ErrorCode): Invocation {
  if (rule.onFail === 'block-if-waiting') return block(ctx, op as SendOp);
  consumeReplyHandle(ctx, lookup(ctx.s, (op as ReplyOp).peer, (op as ReplyOp).handle)!, 'CALLER_GONE');
  return { ok: false, error: code };
}

/** QUOTA-5: a refusal for room changes nothing but the room notice its sender is owed for each queue it lacked. */
function refuseForRoom(state: BusState, op: SendOp | CallOp | MulticastOp): Omit<StepOutcome, 'state'> {
  for (const need of refusedRooms(state, op)) armRoom(state, op.peer, need);
  return failed('QUEUE_FULL');
}

const failed = (error: ErrorCode): Omit<StepOutcome, 'state'> => ({
  result: { ok: false, error },
  completions: [],
  events: [],
});

/**
 * Apply an operation to a state in place (no clone). Failed operations leave it untouched
 * (ATOMIC-1). The operation is read more than once: it must be plain data (parsed JSON, or
 * built by the caller); `step` copies it first.
 */
export function applyInPlace(state: BusState, op: Operation): Omit<StepOutcome, 'state'> {
  const failure = firstFailure(state, op);
  if (failure !== null && !failureActs(op, failure.rule)) {
    const onFail = failure.rule.onFail;
    if (onFail === 'arm-room' || onFail === 'block-if-waiting') return refuseForRoom(state, op as SendOp);
    return failed(failure.code);
  }
  // A send that would wait needs a place among its peer's pending operations (BOUND-2): it is not refused for room.
  if (failure !== null && failure.rule.onFail === 'block-if-waiting' && !mayWait(state, (op as SendOp).peer))
    return failed('TOO_MANY_PENDING');
  const ctx: Ctx = { s: state, completions: [], events: [] };
  const result = failure ? actOnFailure(ctx, op, failure.rule, failure.code) : APPLY[op.op](ctx, op);
  settle(ctx);
  return { result, completions: ctx.completions, events: ctx.events };
}

/** The pure step function: the state and the operation given are never changed, and the operation is read once. */
export function step(state: BusState, op: Operation): StepOutcome {
  const next = cloneState(state);
  return { state: next, ...applyInPlace(next, copyOp(op)) };
}

// ------------------------------------------------------------------ the xstate bus machine (the docs' view)

interface BusContext {
  bus: BusState;
  last: Omit<StepOutcome, 'state'> | null;
}
type BusMachineEvent = { type: string; op: Operation };

function buildMachine() {
  const guards: Record<string, (args: { context: BusContext; event: BusMachineEvent }) => boolean> = {};
  const on: Record<string, unknown[]> = {};
  for (const { name } of OPERATIONS) {
    const transitions: unknown[] = [];
    RULES[name].forEach((rule, i) => {
      const guard = `${name}#${i} ${ruleName(rule)}`;
      guards[guard] = ({ context, event }) => rule.fails(context.bus, event.op) !== null;
      transitions.push({ guard, actions: 'step' });
    });
    transitions.push({ actions: 'step' });
    on[name] = transitions;
  }
  on['*'] = [{ actions: 'step' }];
  return setup({
    types: {} as { context: BusContext; events: BusMachineEvent; input: { bus: BusState } },
    guards: guards as never,
    actions: {
      // Whichever transition was taken, the effects are applyInPlace's, on a copy.
      step: assign(({ context, event }) => {
        const { state, ...last } = step(context.bus, event.op);
        return { bus: state, last };
      }),
    },
  }).createMachine({
    id: 'bus',
    context: ({ input }) => ({ bus: input.bus, last: null }),
    initial: 'running',
    states: { running: { on: on as never } },
  });
}

/** The rules as an xstate statechart: guards named `<op>#<i> <clause>: <what it checks>`, in ERR-1 order. */
export const busMachine = buildMachine();
