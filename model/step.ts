// The pure step function of the model and the xstate bus machine it runs.
//
//   step(state, op) -> { state, result, completions, events }
//
// The bus machine has one state, `running`; each operation is an event whose
// transitions are the rules of model/rules.ts as guards (named after their
// clauses, in ERR-1 order), each rejecting with its error, and a last
// unguarded transition that applies the operation. `applyInPlace` walks the
// same rules and effects without xstate and without cloning, for the
// simulator's hot loop; a property test checks the two agree.
import { assign, setup, transition } from 'xstate';
import type { ErrorCode, Invocation, Operation, OperationName, ReplyOp, SendOp } from '../spec/types';
import { OPERATIONS } from '../spec/registry/operations';
import type { BusState, StepEffects } from './state';
import { cloneState } from './state';
import { APPLY, block, consumeReplyHandle, settle, type Ctx } from './apply';
import { RULES, UNKNOWN_OPERATION, firstFailure, lookup, ruleName, type Rule } from './rules';

export interface StepOutcome extends StepEffects {
  state: BusState;
  result: Invocation;
}

/** What a failing rule does: reject, wait (SEND-7), or consume the reply handle (CALL-4). */
/** Whether a failing rule changes state: a send that waits (SEND-7) or a reply to a gone caller (CALL-4). */
function failureActs(op: Operation, rule: Rule): boolean {
  if (rule.onFail === 'consume-reply-handle') return true;
  return rule.onFail === 'block-if-waiting' && ((op as SendOp).timeoutMs ?? 0) > 0;
}

function actOnFailure(ctx: Ctx, op: Operation, rule: Rule, code: ErrorCode): Invocation {
  if (rule.onFail === 'block-if-waiting') return block(ctx, op as SendOp);
  consumeReplyHandle(ctx, lookup(ctx.s, (op as ReplyOp).peer, (op as ReplyOp).handle)!, 'CALLER_GONE');
  return { ok: false, error: code };
}

/** Apply an operation to a state in place (no clone). Failed operations leave it untouched (ATOMIC-1). */
export function applyInPlace(state: BusState, op: Operation): Omit<StepOutcome, 'state'> {
  const ctx: Ctx = { s: state, completions: [], events: [] };
  const failure = firstFailure(state, op);
  if (failure && !failureActs(op, failure.rule))
    return { result: { ok: false, error: failure.code }, completions: [], events: [] };
  const result = failure ? actOnFailure(ctx, op, failure.rule, failure.code) : APPLY[op.op](ctx, op);
  settle(ctx);
  return { result, completions: ctx.completions, events: ctx.events };
}

// ------------------------------------------------------------------ the xstate bus machine

interface BusContext {
  bus: BusState;
  last: Omit<StepOutcome, 'state'> | null;
}
type BusMachineEvent = { type: string; op: Operation };

const OP_NAMES = OPERATIONS.map((o) => o.name);

function buildMachine() {
  const guards: Record<string, (args: { context: BusContext; event: BusMachineEvent }) => boolean> = {};
  const on: Record<string, unknown[]> = {};
  for (const name of OP_NAMES) {
    const transitions: unknown[] = [];
    RULES[name].forEach((rule, i) => {
      const guard = `${name}#${i} ${ruleName(rule)}`;
      guards[guard] = ({ context, event }) => rule.fails(context.bus, event.op) !== null;
      transitions.push({ guard, actions: { type: 'fail', params: { rule: i } } });
    });
    transitions.push({ actions: 'apply' });
    on[name] = transitions;
  }
  on['*'] = [{ actions: { type: 'fail', params: { rule: -1 } } }];

  return setup({
    types: {} as { context: BusContext; events: BusMachineEvent; input: { bus: BusState } },
    guards: guards as never,
    actions: {
      fail: assign(({ context, event }, params: { rule: number }) => {
        const rule = params.rule < 0 ? UNKNOWN_OPERATION : RULES[event.op.op as OperationName][params.rule];
        const code = rule.fails(context.bus, event.op)!;
        if (!failureActs(event.op, rule))
          return { last: { result: { ok: false, error: code }, completions: [], events: [] } };
        const bus = cloneState(context.bus);
        const ctx: Ctx = { s: bus, completions: [], events: [] };
        const result = actOnFailure(ctx, event.op, rule, code);
        settle(ctx);
        return { bus, last: { result, completions: ctx.completions, events: ctx.events } };
      }),
      apply: assign(({ context, event }) => {
        const bus = cloneState(context.bus);
        const ctx: Ctx = { s: bus, completions: [], events: [] };
        const result = APPLY[event.op.op](ctx, event.op);
        settle(ctx);
        return { bus, last: { result, completions: ctx.completions, events: ctx.events } };
      }),
    },
  }).createMachine({
    id: 'bus',
    context: ({ input }) => ({ bus: input.bus, last: null }),
    initial: 'running',
    states: { running: { on: on as never } },
  });
}

export const busMachine = buildMachine();

/** The pure step function: the state given is never changed. */
export function step(state: BusState, op: Operation): StepOutcome {
  const snapshot = busMachine.resolveState({ value: 'running', context: { bus: state, last: null } });
  const [next] = transition(busMachine, snapshot, { type: typeof op?.op === 'string' ? op.op : '?', op });
  const last = next.context.last;
  if (last === null) throw new Error(`the bus machine did not handle ${JSON.stringify(op)}`);
  return { state: next.context.bus, ...last };
}
