export * from './types';
export * from './registry/errors';
export * from './registry/operations';
export * from './registry/notices';
export * from './registry/limits';
export * from './validate';
export * from './clauses';
export * from './paths';
