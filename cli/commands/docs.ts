// `tessera docs [--out DIR]`: generate the static docs site (default docs/).
import * as path from 'path';
import { type Command, parseFlags, UsageError } from '../command';
import { generateDocs, repositoryRoot } from '../docs';

export const command: Command = {
  name: 'docs',
  summary: 'Generate the docs site (spec, operations, lifecycles, schemas, coverage) into docs/',
  usage: 'tessera docs [--out DIR]',
  async run(argv: string[]): Promise<number> {
    const { flags, positional } = parseFlags(argv, { out: 'string' });
    if (positional.length > 0) throw new UsageError(`unexpected argument ${positional[0]}`);
    const root = repositoryRoot();
    const outDir = path.resolve(typeof flags.out === 'string' ? flags.out : path.join(root, 'docs'));
    const { pages, files } = await generateDocs(outDir, { root });
    console.log(
      `wrote ${pages} pages (${files.length} files) to ${path.relative(process.cwd(), outDir) || '.'}; open ${path.join(outDir, 'index.html')}`,
    );
    return 0;
  },
};
