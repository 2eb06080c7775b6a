// The driver protocol: the one door through which the suite drives an
// implementation, in process (Driver) or as JSON lines on stdio (wire types,
// validators, and serveStdio for implementations written in TypeScript).
export * from './driver';
export * from './wire';
export * from './clients';
export { wire } from './validate';
export { serveStdio } from './serve';
