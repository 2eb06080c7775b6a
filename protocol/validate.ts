// Validators for the driver protocol's lines, from the generated schemas
// (protocol/schema/, `npm run schemas`): both sides check every line they read,
// with readRequestLine and readResponseLine, which say precisely what is wrong
// with a line (not JSON, JSON but not an object, which schema rule it breaks).
import { Validator, createAjv } from '../spec/validate';
import type { DriverRequest, DriverResponse, RequestId } from './wire';

import DriverRequestSchema = require('./schema/DriverRequest.json');
import DriverResponseSchema = require('./schema/DriverResponse.json');

const ajv = createAjv();
export const wire = {
  request: new Validator<DriverRequest>(ajv.compile(DriverRequestSchema)),
  response: new Validator<DriverResponse>(ajv.compile(DriverResponseSchema)),
};

/** What a line is, when it is not a valid message. */
export type LineFaultKind = 'not-json' | 'not-object' | 'schema';

export type LineRead<T> =
  | { ok: true; value: T }
  | {
      ok: false;
      kind: LineFaultKind;
      /** A sentence saying what is wrong, e.g. `the line is JSON but not an object: null`. */
      message: string;
      /** The message's id, when it has a valid one (an error answer can then name its request). */
      id: RequestId | null;
    };

/** How a JSON value that is not an object is named in an error message. */
export function describeJsonValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array (${value.length} items)`;
  const text = JSON.stringify(value);
  const shown = text.length > 40 ? text.slice(0, 40) + '...' : text;
  return `a ${typeof value} (${shown})`;
}

function isRequestId(value: unknown): value is RequestId {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

function readLine<T>(line: string, validator: Validator<T>, schema: string): LineRead<T> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (err) {
    return { ok: false, kind: 'not-json', message: `the line is not JSON (${(err as Error).message})`, id: null };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    return {
      ok: false,
      kind: 'not-object',
      message: `the line is JSON but not an object: ${describeJsonValue(parsed)}`,
      id: null,
    };
  const checked = validator.check(parsed);
  if (checked.ok) return checked;
  const id = (parsed as { id?: unknown }).id;
  return {
    ok: false,
    kind: 'schema',
    message: `the message violates ${schema} at "${checked.path}": ${checked.message}`,
    id: isRequestId(id) ? id : null,
  };
}

/** A request line as the implementation's side reads it. */
export function readRequestLine(line: string): LineRead<DriverRequest> {
  return readLine(line, wire.request, 'DriverRequest.json');
}

/** A response line as the suite's side reads it. */
export function readResponseLine(line: string): LineRead<DriverResponse> {
  return readLine(line, wire.response, 'DriverResponse.json');
}
