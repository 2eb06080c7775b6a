// Finding and loading the compiled addon, and saying precisely why when it cannot be loaded:
// which tool was missing when `npm ci` ran build.js and how to get it, a failed compile, or a
// binary built for another Node.
import * as fs from 'fs';
import * as path from 'path';

/** The functions the C++ addon exports (native/src); index.ts wraps them with types and defaults. */
export interface RawAddon {
  abiVersion: number;
  capabilities: { futexWaitv: boolean; pidfd: boolean; peerPidfd: boolean };
  pageSizeBytes: number;
  maxSegmentBytes: number;
  createSegment(sizeBytes: number, name: string): { fd: number; buffer: SharedArrayBuffer };
  openSegment(path: string, create: boolean, sizeBytes: number | undefined): { fd: number; buffer: SharedArrayBuffer };
  mapSegment(fd: number, offsetBytes: number, sizeBytes: number | undefined): SharedArrayBuffer;
  segmentSeals(fd: number): { shrink: boolean; grow: boolean; write: boolean; seal: boolean };
  wait(i32: Int32Array, index: number, value: number, timeoutMs: number | undefined): 'ok' | 'not-equal' | 'timed-out';
  waitAsync(
    i32: Int32Array,
    index: number,
    value: number,
    timeoutMs: number | undefined,
  ):
    | { async: false; value: 'not-equal' | 'timed-out' }
    | { async: true; value: Promise<'ok' | 'not-equal' | 'timed-out'> };
  notify(i32: Int32Array, index: number, count: number | undefined): number;
  waitAny(
    words: readonly { i32: Int32Array; index: number; value: number }[],
    timeoutMs: number | undefined,
  ): 'ok' | 'not-equal' | 'timed-out';
  yieldCpu(): void;
  currentCpu(): number;
  spinWait: SpinWait;
  prefetchWrite: PrefetchWrite;
  pidfdOpen(pid: number): number;
  pidfdAlive(fd: number): boolean;
  pidfdWaitExit(fd: number, timeoutMs: number | undefined): boolean;
  pidfdWatch(fd: number, callback: (error: Error | null) => void, keepAlive: boolean): number;
  pidfdUnwatch(id: number): boolean;
  peerCredentials(fd: number): { pid: number; uid: number; gid: number };
  peerPidfd(fd: number): number;
  socketPair(seqpacket: boolean): [number, number];
  sendFds(fd: number, data: ArrayBufferView, fds: number[], timeoutMs: number | undefined): number;
  receiveFds(
    fd: number,
    maxBytes: number,
    maxFds: number,
    timeoutMs: number | undefined,
  ): { data: Uint8Array; fds: number[] } | null;
}

/** The addon's spin loop (index.ts spinWait says what it does). */
export type SpinWait = (
  i32: Int32Array,
  wantIndex: number,
  want: number,
  seenIndex: number,
  seen: number,
  budgetMs: number,
) => 0 | 1 | 2;

/** The addon's write prefetch (index.ts prefetchWrite says what it does). */
export type PrefetchWrite = (i32: Int32Array, ...indices: number[]) => void;

/** The ABI of the C++ side this loader was written for (a stale binary is rebuilt, not trusted). */
const ABI_VERSION = 5;

/** What build.js recorded in native/build/status.json. */
export interface BuildStatus {
  built: boolean;
  failed?: boolean;
  missing?: { tool: string; tried: string; hint: string }[];
  message?: string;
  node?: string;
  modules?: string;
}

/** Thrown by every native function when the addon cannot be loaded; the message says why and what to do. */
export class NativeUnavailableError extends Error {
  readonly code = 'TESSERA_NATIVE_UNAVAILABLE';
  constructor(
    message: string,
    /** The tools build.js found missing (empty when the reason is another). */
    readonly missingTools: readonly string[],
  ) {
    super(message);
    this.name = 'NativeUnavailableError';
  }
}

let here: string | undefined;

/** The native/ folder of this checkout: the nearest ancestor of this module holding native/binding.gyp. */
export function nativeDir(start?: string): string {
  if (start === undefined) return (here ??= findNativeDir(__dirname));
  return findNativeDir(start);
}

function findNativeDir(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'binding.gyp')) && path.basename(dir) === 'native') return dir;
    if (fs.existsSync(path.join(dir, 'native', 'binding.gyp'))) return path.join(dir, 'native');
    if (path.dirname(dir) === dir) throw new Error(`native/binding.gyp not found above ${start}`);
  }
}

export function binaryPath(dir: string = nativeDir()): string {
  return path.join(dir, 'build', 'Release', 'tessera_native.node');
}

export function readBuildStatus(dir: string = nativeDir()): BuildStatus | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'build', 'status.json'), 'utf8')) as BuildStatus;
  } catch {
    return null;
  }
}

const REBUILD = 'npm run build:native';

/** Why the addon in `dir` cannot be loaded, given its build status (the binary is missing). */
export function explainMissingBinary(status: BuildStatus | null): NativeUnavailableError {
  const prefix = 'the Tessera native addon is not available';
  if (status === null)
    return new NativeUnavailableError(
      `${prefix}: it was never built here (no native/build/status.json); run ${REBUILD} (npm ci runs it)`,
      [],
    );
  if (status.missing && status.missing.length > 0)
    return new NativeUnavailableError(
      `${prefix}: when it was built, ${status.message ?? status.missing.map((m) => m.tool).join(', ')}`,
      status.missing.map((m) => m.tool),
    );
  if (status.failed)
    return new NativeUnavailableError(
      `${prefix}: its build failed although every tool was found (fix it, then ${REBUILD}): ${status.message ?? ''}`,
      [],
    );
  return new NativeUnavailableError(
    `${prefix}: the binary is missing although the build succeeded; run ${REBUILD}`,
    [],
  );
}

const loaded = new Map<string, RawAddon | NativeUnavailableError>();

/** The addon built in `dir` (default: this checkout's), loaded once; throws NativeUnavailableError. */
export function loadAddon(dir: string = nativeDir()): RawAddon {
  let result = loaded.get(dir);
  if (result === undefined) {
    result = tryLoad(dir);
    loaded.set(dir, result);
  }
  if (result instanceof NativeUnavailableError) throw result;
  return result;
}

function tryLoad(dir: string): RawAddon | NativeUnavailableError {
  const file = binaryPath(dir);
  if (!fs.existsSync(file)) return explainMissingBinary(readBuildStatus(dir));
  let addon: RawAddon;
  try {
    addon = require(file) as RawAddon;
  } catch (e) {
    const status = readBuildStatus(dir);
    const builtFor = status?.node ? ` (built for Node ${status.node}, this is ${process.version})` : '';
    return new NativeUnavailableError(
      `the Tessera native addon at ${file} cannot be loaded${builtFor}: ${(e as Error).message.split('\n')[0]}; rebuild it with ${REBUILD}`,
      [],
    );
  }
  if (addon.abiVersion !== ABI_VERSION)
    return new NativeUnavailableError(
      `the Tessera native addon at ${file} is stale (ABI ${addon.abiVersion}, the loader needs ${ABI_VERSION}); rebuild it with ${REBUILD}`,
      [],
    );
  return addon;
}

/** Whether the addon loads here, and if not, the error loading it throws. Never throws. */
export function nativeAvailability(
  dir?: string,
): { available: true; addon: RawAddon } | { available: false; error: NativeUnavailableError } {
  try {
    return { available: true, addon: loadAddon(dir) };
  } catch (e) {
    if (e instanceof NativeUnavailableError) return { available: false, error: e };
    return { available: false, error: new NativeUnavailableError((e as Error).message, []) };
  }
}
