// Validators for the driver protocol and the report, from the generated schemas.
import { Validator, createAjv } from '../spec/validate';
import type { DriverRequest, DriverResponse } from './protocol';
import type { ConformanceReport } from './report-types';

import DriverRequestSchema = require('./schema/DriverRequest.json');
import DriverResponseSchema = require('./schema/DriverResponse.json');
import ConformanceReportSchema = require('./schema/ConformanceReport.json');

const ajv = createAjv();
export const wire = {
  request: new Validator<DriverRequest>(ajv.compile(DriverRequestSchema)),
  response: new Validator<DriverResponse>(ajv.compile(DriverResponseSchema)),
  report: new Validator<ConformanceReport>(ajv.compile(ConformanceReportSchema)),
};
