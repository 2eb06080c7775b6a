// `tessera docs [--out DIR]`: generate the static docs site (default docs/).
import * as path from 'path';
import { defineCommand } from '../command';
import { outputDir } from '../flags';
import { generateDocs, repositoryRoot } from '../docs';

export const command = defineCommand({
  name: 'docs',
  summary: 'Generate the docs site (spec, operations, lifecycles, schemas, coverage) into docs/',
  usage: ['[--out DIR]'],
  flags: {
    out: outputDir('the folder to write the site into', { defaultText: 'docs/ of the repository' }),
  },
  examples: [
    ['tessera docs', 'regenerate the committed site (what `npm run docs` runs)'],
    ['tessera docs --out /tmp/site', 'write it elsewhere'],
  ],
  plan({ flags }) {
    const root = repositoryRoot();
    return async () => {
      const outDir = path.resolve(flags.out?.dir ?? path.join(root, 'docs'));
      const { pages, files } = await generateDocs(outDir, { root });
      console.log(
        `wrote ${pages} pages (${files.length} files) to ${path.relative(process.cwd(), outDir) || '.'}; open ${path.join(outDir, 'index.html')}`,
      );
      return 0;
    };
  },
});
