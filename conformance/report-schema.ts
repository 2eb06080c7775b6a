// The validator of the suite's JSON report (`--json`), from its generated schema.
import { Validator, createAjv } from '../spec/validate';
import type { ConformanceReport } from './report-types';

import ConformanceReportSchema = require('./schema/ConformanceReport.json');

export const reportValidator = new Validator<ConformanceReport>(createAjv().compile(ConformanceReportSchema));
