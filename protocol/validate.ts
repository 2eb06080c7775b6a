// Validators for the driver protocol's lines, from the generated schemas
// (protocol/schema/, `npm run schemas`): both sides check every line they read.
import { Validator, createAjv } from '../spec/validate';
import type { DriverRequest, DriverResponse } from './wire';

import DriverRequestSchema = require('./schema/DriverRequest.json');
import DriverResponseSchema = require('./schema/DriverResponse.json');

const ajv = createAjv();
export const wire = {
  request: new Validator<DriverRequest>(ajv.compile(DriverRequestSchema)),
  response: new Validator<DriverResponse>(ajv.compile(DriverResponseSchema)),
};
