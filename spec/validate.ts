// ajv validators built from the generated schemas (spec/schema/). Used at
// every boundary where data comes from outside: the driver protocol, scenario
// files, traces. A rejection names the path of the bad field.
import Ajv, { type ValidateFunction, type ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import type { Completion, Delivery, Invocation, Limits, Operation, Result } from './types';

import OperationSchema = require('./schema/Operation.json');
import InvocationSchema = require('./schema/Invocation.json');
import CompletionSchema = require('./schema/Completion.json');
import DeliverySchema = require('./schema/Delivery.json');
import ResultSchema = require('./schema/Result.json');
import LimitsSchema = require('./schema/Limits.json');

/** One ajv instance configured as the schemas need (draft-07, discriminators). */
export function createAjv(): Ajv {
  const ajv = new Ajv({ discriminator: true, allErrors: false, strict: false });
  addFormats(ajv);
  return ajv;
}

export interface Rejection {
  ok: false;
  /** JSON pointer of the bad field ("" for the whole value). */
  path: string;
  message: string;
}
export type Checked<T> = { ok: true; value: T } | Rejection;

/**
 * The error that says most: with a union (anyOf), ajv reports the first failure of every
 * branch; the branch the value was meant to be is the one that got deepest into it (a
 * delivery with `data` for `payload` fails at /invocation/value/deliveries/0, not at the
 * error branch's /invocation), so the deepest instance path wins; the first, among equals.
 */
function mostSpecific(errors: ErrorObject[]): ErrorObject | undefined {
  let best: ErrorObject | undefined;
  let depth = -1;
  for (const e of errors) {
    if (e.keyword === 'anyOf' || e.keyword === 'oneOf') continue;
    const d = e.instancePath === '' ? 0 : e.instancePath.split('/').length;
    if (d > depth) [best, depth] = [e, d];
  }
  return best ?? errors[0];
}

export function explain(errors: ErrorObject[] | null | undefined): Rejection {
  const e = errors?.length ? mostSpecific(errors) : undefined;
  if (!e) return { ok: false, path: '', message: 'invalid' };
  const extra =
    e.keyword === 'additionalProperties'
      ? ` (${(e.params as { additionalProperty: string }).additionalProperty})`
      : e.keyword === 'discriminator'
        ? ` (${JSON.stringify((e.params as { tagValue: unknown }).tagValue)})`
        : '';
  return { ok: false, path: e.instancePath, message: `${e.message ?? 'invalid'}${extra}` };
}

export class Validator<T> {
  constructor(private readonly fn: ValidateFunction) {}
  check(value: unknown): Checked<T> {
    return this.fn(value) ? { ok: true, value: value as T } : explain(this.fn.errors);
  }
}

const ajv = createAjv();
export const validators = {
  operation: new Validator<Operation>(ajv.compile(OperationSchema)),
  invocation: new Validator<Invocation>(ajv.compile(InvocationSchema)),
  completion: new Validator<Completion>(ajv.compile(CompletionSchema)),
  delivery: new Validator<Delivery>(ajv.compile(DeliverySchema)),
  result: new Validator<Result>(ajv.compile(ResultSchema)),
  limits: new Validator<Limits>(ajv.compile(LimitsSchema)),
};
