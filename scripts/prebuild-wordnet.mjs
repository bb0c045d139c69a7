// Run by `npm run build` after tsc: compiles WordNet's nouns once into dist/, so no process (a server least of
// all) compiles them at run time.
import { writePrebuiltWordNet } from '../dist/taxonomy/wordnet-store.js';

const file = await writePrebuiltWordNet();
console.log(`WordNet nouns compiled: ${file}`);
