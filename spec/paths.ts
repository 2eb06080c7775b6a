// Where the repository is, from the source (tsx) or the compiled (dist/) location:
// the tools read the sources of truth (spec.md, schemas, scenarios) from there.
import * as fs from 'fs';
import * as path from 'path';

let root: string | null = null;

/** The repository root: the nearest folder above this file holding package.json and spec/types.ts. */
export function repositoryRoot(): string {
  if (root) return root;
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'spec', 'types.ts')))
      return (root = dir);
    dir = path.dirname(dir);
  }
  throw new Error(`cannot find the repository root above ${__dirname}`);
}
