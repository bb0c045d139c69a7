// `pictograph tree <word|wnid>`: explore WordNet's nouns — a synset, its lemmas, gloss, path to entity and children.
import { Command } from 'commander';
import { loadHierarchy } from '../taxonomy/load.js';
import { formatTree, lookupTree } from '../taxonomy/synset-view.js';

export function register(program: Command): void {
  program
    .command('tree')
    .description('show a WordNet noun synset: lemmas, gloss, hypernym path up to entity, children')
    .argument('<word...>', 'a word ("dog", "golden retriever") or a wnid (n02084071)')
    .option('--sense <n>', 'which noun sense of the word (1 = most frequent)', '1')
    .option('--json', 'print JSON')
    .action(async (words: string[], opts: { sense: string; json?: boolean }) => {
      const hierarchy = await loadHierarchy('imagenet-1k');
      const query = words.join(' ');
      const sense = Number(opts.sense);
      if (!Number.isInteger(sense) || sense < 1) throw new Error(`--sense must be a positive integer, got '${opts.sense}'`);
      const result = lookupTree(hierarchy.wordnet, query, { sense, hierarchy });
      if (!result) {
        process.exitCode = 2;
        console.error(`pictograph: no WordNet noun for '${query}'`);
        return;
      }
      console.log(opts.json ? JSON.stringify(result, null, 2) : formatTree(result));
    });
}
