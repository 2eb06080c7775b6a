export * from './state';
export * from './step';
export * from './lifecycles';
export { RULES, ruleName, firstFailure, type Rule } from './rules';
export { describePayload, toBase64, gather, base64Bytes, isBase64 } from './payload';
export { checkState, Monitor, type Violation } from './invariants';
