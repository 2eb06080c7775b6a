// Where a command writes its files. Every output is checked, and its folder
// created, before the command's run starts (a run of minutes must not end in
// ENOTDIR); every file is written to a temporary name in its folder and renamed
// into place, so a failure leaves nothing partial behind; `-` is stdout.
// Folders are created one level at a time with a bound: Node's recursive mkdir
// spins forever on a path under /proc.
import * as fs from 'fs';
import * as path from 'path';

/** An output that cannot be used, or could not be written; the CLI exits 2 with the message. */
export class OutputError extends Error {}

/** Deeper than any real path; a bound on the folder-creating walk. */
const MAX_DEPTH = 256;

const REASONS: Record<string, string> = {
  ENOTDIR: 'a part of the path is a file, not a folder',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  ENAMETOOLONG: 'the name is too long',
  ENOENT: 'no such folder (and it cannot be created there)',
  EISDIR: 'it is a folder',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EEXIST: 'it exists and is not a folder',
  ELOOP: 'too many symbolic links',
};

function reason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code && REASONS[e.code] ? `${REASONS[e.code]} (${e.code})` : (e.message ?? String(err));
}

/** What is at `p`: null when nothing is (or a parent is a file: the folder creation says so). */
function statOrNull(p: string, what: string): fs.Stats | null {
  try {
    return fs.statSync(p);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw new OutputError(`${what}: cannot use ${p}: ${reason(err)}`);
  }
}

/** mkdir -p, one level at a time, never more than MAX_DEPTH levels. */
export function makeFolder(dir: string, what: string): void {
  const missing: string[] = [];
  let p = path.resolve(dir);
  try {
    for (let depth = 0; ; depth++) {
      if (depth > MAX_DEPTH) throw new OutputError(`${what}: the path is deeper than ${MAX_DEPTH} folders`);
      const st = statOrNull(p, what);
      if (st) {
        if (!st.isDirectory()) throw new OutputError(`${what}: cannot use ${p}: it exists and is not a folder`);
        break;
      }
      missing.push(p);
      const parent = path.dirname(p);
      if (parent === p) break;
      p = parent;
    }
    for (const m of missing.reverse()) fs.mkdirSync(m);
  } catch (err) {
    if (err instanceof OutputError) throw err;
    throw new OutputError(`${what}: cannot create the folder ${dir}: ${reason(err)}`);
  }
}

let probes = 0;
/** Whether files can be created in `dir`: create and remove one. */
function probeFolder(dir: string, what: string): void {
  const probe = path.join(dir, `.tessera-probe-${process.pid}-${probes++}`);
  try {
    fs.writeFileSync(probe, '', { flag: 'wx' });
  } catch (err) {
    throw new OutputError(`${what}: cannot write in the folder ${dir}: ${reason(err)}`);
  }
  fs.rmSync(probe, { force: true });
}

let temps = 0;
/** Write `text` to `file` through a temporary file in its folder and a rename; nothing partial on failure. */
export function writeFileAtomically(file: string, text: string, what = file): void {
  let target = file;
  const st = statOrNull(file, what);
  if (st && !st.isFile() && !st.isDirectory()) {
    // A device or a pipe (/dev/null, a FIFO): written in place, never replaced.
    fs.writeFileSync(file, text);
    return;
  }
  if (st?.isDirectory()) throw new OutputError(`${what}: cannot write ${file}: ${REASONS.EISDIR}`);
  if (st && fs.lstatSync(file).isSymbolicLink()) target = fs.realpathSync(file);
  const temp = path.join(path.dirname(target), `.tessera-${process.pid}-${temps++}.tmp`);
  try {
    fs.writeFileSync(temp, text, { flag: 'wx' });
    fs.renameSync(temp, target);
  } catch (err) {
    fs.rmSync(temp, { force: true });
    throw new OutputError(`${what}: cannot write ${file}: ${reason(err)}`);
  }
}

/** A file a command writes, or stdout (`-`). */
export class OutputFile {
  constructor(
    /** The flag that named it, for messages. */
    readonly flag: string,
    /** The file, or null for stdout. */
    readonly file: string | null,
  ) {}

  get isStdout(): boolean {
    return this.file === null;
  }

  /** How messages name it. */
  get label(): string {
    return this.file ?? 'stdout';
  }

  /** Check it can be written, creating its folder. */
  prepare(): void {
    if (this.file === null) return;
    const what = `${this.flag} ${this.file}`;
    const st = statOrNull(this.file, what);
    if (st?.isDirectory()) throw new OutputError(`${what}: cannot write a file there: ${REASONS.EISDIR}`);
    if (st && !st.isFile()) return; // a device or a pipe: written in place
    const dir = path.dirname(path.resolve(this.file));
    makeFolder(dir, what);
    probeFolder(dir, what);
  }

  /** A sibling file (the same folder), e.g. one trace per transport; stdout stays stdout. */
  sibling(name: (base: string) => string): OutputFile {
    return this.file === null ? this : new OutputFile(this.flag, name(this.file));
  }

  write(text: string): void {
    if (this.file === null) process.stdout.write(text);
    else writeFileAtomically(this.file, text, `${this.flag} ${this.file}`);
  }
}

/** A folder a command writes several files into. */
export class OutputDir {
  constructor(
    readonly flag: string,
    readonly dir: string,
  ) {}

  prepare(): void {
    const what = `${this.flag} ${this.dir}`;
    makeFolder(this.dir, what);
    probeFolder(this.dir, what);
  }

  path(...names: string[]): string {
    return path.join(this.dir, ...names);
  }

  /** Write one file (names may include sub-folders, created on the way). */
  write(name: string, text: string): string {
    const file = this.path(name);
    const what = `${this.flag} ${this.dir}`;
    makeFolder(path.dirname(file), what);
    writeFileAtomically(file, text, what);
    return file;
  }
}
