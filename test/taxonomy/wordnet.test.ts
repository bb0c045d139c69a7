import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDataLine, parseIndexNoun, wnidOf, offsetOf } from '../../src/taxonomy/wordnet-parse.js';
import { compileFromPackage, glossesFile, loadWordNet, prebuiltWordnetFile, wordnetCacheFile, writePrebuiltWordNet } from '../../src/taxonomy/wordnet-store.js';
import { WordNet } from '../../src/taxonomy/wordnet.js';
import { env } from './fixtures.js';

test('parses a data.noun line: lemmas, gloss, @ and @i pointers, ignoring other pointers', () => {
  const line =
    '02084071 05 n 03 dog 0 domestic_dog 0 Canis_familiaris 0 004 @ 02083346 n 0000 @ 01317541 n 0000 #m 02083863 n 0000 ~ 01322604 n 0000 | a member of the genus Canis; "the dog barked all night"  ';
  const r = parseDataLine(line);
  assert.equal(r.offset, 2084071);
  assert.deepEqual(r.lemmas, ['dog', 'domestic_dog', 'Canis_familiaris']);
  assert.deepEqual(r.hypernyms, [2083346, 1317541]);
  assert.deepEqual(r.instanceHypernyms, []);
  assert.equal(r.gloss, 'a member of the genus Canis; "the dog barked all night"');
  const inst = parseDataLine('00060548 04 n 02 Hegira 1 Hejira 1 001 @i 00058743 n 0000 | the flight of Muhammad');
  assert.deepEqual(inst.instanceHypernyms, [58743]);
  assert.deepEqual(inst.hypernyms, []);
});

test('parses index.noun lines into senses in order', () => {
  const index = parseIndexNoun('  1 license header\ndog n 7 5 @ ~ #m #p %p 7 1 02084071 10114209 10023039 09886220 07676602 03901548 02710044  \n');
  assert.deepEqual(index.get('dog'), [2084071, 10114209, 10023039, 9886220, 7676602, 3901548, 2710044]);
});

test('wnids are n + 8-digit offsets', () => {
  assert.equal(wnidOf(2085620), 'n02085620');
  assert.equal(offsetOf('n00001740'), 1740);
  assert.equal(offsetOf('dog'), undefined);
});

test('WordNet 3.0 nouns: Chihuahua, dog, path to entity, lookups', async () => {
  const wn = await loadWordNet({ env });
  assert.equal(wn.size, 82115);
  const chihuahua = wn.indexOf('n02085620')!;
  assert.equal(wn.name(chihuahua), 'Chihuahua');
  const dog = wn.synset(wn.indexOf('n02084071')!);
  assert.deepEqual(dog.lemmas, ['dog', 'domestic dog', 'Canis familiaris']);
  assert.deepEqual(dog.hypernyms, ['n02083346', 'n01317541']);
  const path = wn.primaryPath(wn.indexOf('n02084071')!).map((i) => wn.wnid(i));
  assert.equal(path[path.length - 1], 'n00001740');
  assert.equal(wn.name(wn.indexOf('n00001740')!), 'entity');
  assert.equal(wn.wnid(wn.lookup('dog')[0]), 'n02084071');
  assert.equal(wn.wnid(wn.lookup('Dogs')[0]), 'n02084071');
  assert.equal(wn.wnid(wn.lookup('golden retriever')[0]), 'n02099601');
  assert.equal(wn.wnid(wn.lookup('mice')[0]), wn.wnid(wn.lookup('mouse')[0]));
  assert.deepEqual(wn.lookup('qwxzzy'), []);
  assert.ok(wn.children(wn.indexOf('n02084071')!).map((c) => wn.wnid(c)).includes('n02085374'));
  // instance hypernyms are parents too: Hegira is an instance of a journey
  assert.ok(wn.parents(wn.indexOf('n00060548')!).length > 0);
});

test('the compiled cache is reused when fresh and rebuilt when stale', async () => {
  const file = wordnetCacheFile(env);
  await loadWordNet({ env, fresh: true, prebuilt: null });
  const data = JSON.parse(readFileSync(file, 'utf8'));
  // Make the cache stale (different source fingerprint, damaged content): a fresh load must rebuild it.
  writeFileSync(file, JSON.stringify({ ...data, source: 'stale', lemmas: 'broken' }));
  const before = statSync(file).size;
  const { loadWordNet: load2 } = await import(`../../src/taxonomy/wordnet-store.js?fresh=${Date.now()}`);
  const wn: WordNet = await load2({ env, prebuilt: null });
  assert.equal(wn.name(wn.indexOf('n02085620')!), 'Chihuahua');
  assert.notEqual(statSync(file).size, before);
  assert.equal(JSON.parse(readFileSync(file, 'utf8')).source, data.source);
});

test("a home without a cache reads the build's compiled nouns and compiles nothing", async () => {
  const prebuilt = prebuiltWordnetFile();
  if (!existsSync(prebuilt)) await writePrebuiltWordNet();
  const home = mkdtempSync(join(tmpdir(), 'pictograph-wordnet-prebuilt-'));
  try {
    const wn = await loadWordNet({ env: { ...process.env, PICTOGRAPH_HOME: home }, fresh: true });
    assert.equal(wn.name(wn.indexOf('n02085620')!), 'Chihuahua');
    assert.equal(existsSync(wordnetCacheFile({ ...process.env, PICTOGRAPH_HOME: home })), false);
    // a stale build file is not trusted: the home compiles its own
    const stale = join(home, 'stale.json');
    writeFileSync(stale, JSON.stringify({ ...JSON.parse(readFileSync(prebuilt, 'utf8')), source: 'stale' }));
    const again = await loadWordNet({ env: { ...process.env, PICTOGRAPH_HOME: home }, fresh: true, prebuilt: stale });
    assert.equal(again.size, wn.size);
    assert.equal(existsSync(wordnetCacheFile({ ...process.env, PICTOGRAPH_HOME: home })), true);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test('the in-place lemma index answers as a Map of every index line would, and prefix runs come in sorted order', async () => {
  const wn = await loadWordNet({ env });
  const data = JSON.parse(readFileSync(prebuiltWordnetFile(), 'utf8')) as { index: string };
  const reference = new Map<string, number[]>();
  for (const line of data.index.split('\n')) {
    const space = line.lastIndexOf(' ');
    reference.set(line.slice(0, space), line.slice(space + 1).split(',').map(Number));
  }
  for (const [lemma, synsets] of reference) assert.deepEqual(wn.lookup(lemma), synsets, lemma);
  for (const prefix of ['dog', 'golden_', "'", 'zz', 'a']) {
    const expected = [...reference.keys()].filter((l) => l.startsWith(prefix)).sort();
    assert.deepEqual([...wn.lemmasFrom(prefix)].map((e) => e.lemma), expected, prefix);
  }
  assert.deepEqual([...wn.lemmasFrom('qwxzzy')], []);
});

test('glosses stay in their file and are read one at a time, every one as compiled; a glosses file that does not match is not trusted', async () => {
  const compiled = await compileFromPackage();
  const expected = compiled.glosses.split('\n');
  const wn = await loadWordNet({ env, fresh: true });
  assert.equal(wn.size, expected.length);
  // the loaded JSON holds none of them
  assert.equal('glosses' in JSON.parse(readFileSync(prebuiltWordnetFile(), 'utf8')), false);
  for (let i = 0; i < wn.size; i++) if (wn.gloss(i) !== expected[i]) assert.equal(wn.gloss(i), expected[i], `synset ${i}`);
  assert.equal(wn.synset(wn.indexOf('n02084071')!).gloss, expected[wn.indexOf('n02084071')!]);
  // a glosses file that does not match its JSON (cut short) is not trusted: the home compiles its own
  const home = mkdtempSync(join(tmpdir(), 'pictograph-wordnet-glosses-'));
  try {
    const henv = { ...process.env, PICTOGRAPH_HOME: home };
    const file = wordnetCacheFile(henv);
    await loadWordNet({ env: henv, fresh: true, prebuilt: null });
    const glosses = glossesFile(file);
    const full = readFileSync(glosses);
    writeFileSync(glosses, full.subarray(0, full.length - 100));
    const again = await loadWordNet({ env: henv, fresh: true, prebuilt: null });
    assert.equal(again.gloss(again.size - 1), expected[expected.length - 1]);
    assert.equal(statSync(glosses).size, full.length);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test('an index that is not sorted is sorted once before the first lookup', () => {
  const wn = new WordNet({
    format: 2,
    source: 'test',
    offsets: [1740, 2084071],
    lemmas: 'entity\ndog domestic_dog',
    glosses: 'that which exists\na domesticated canid',
    hyperStart: [0, 0, 1],
    hyperList: [0],
    instStart: [0, 0, 0],
    instList: [],
    index: 'entity 0\ndog 1\ndomestic_dog 1',
    exceptions: {},
  });
  assert.deepEqual(wn.lookup('dogs'), [1]);
  assert.deepEqual(wn.lookup('entity'), [0]);
  assert.deepEqual([...wn.lemmasFrom('do')].map((e) => e.lemma), ['dog', 'domestic_dog']);
  assert.equal(wn.gloss(1), 'a domesticated canid');
  assert.deepEqual(wn.lemmas(1), ['dog', 'domestic dog']);
  assert.deepEqual(wn.hypernyms(1), [0]);
  const empty = new WordNet({ format: 2, source: 'test', offsets: [], lemmas: '', glosses: '', hyperStart: [0], hyperList: [], instStart: [0], instList: [], index: '', exceptions: {} });
  assert.deepEqual(empty.lookup(''), []);
  assert.deepEqual([...empty.lemmasFrom('a')], []);
});
