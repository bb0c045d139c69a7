// Pure pieces of the server: error mapping to stable codes, path scrubbing, upload file names, lemma search.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ApiError, scrubPaths, toApiError } from '../../src/server/errors.js';
import { safeFileName } from '../../src/server/uploads.js';
import { searchSynsetsByPrefix } from '../../src/server/synset-search.js';
import { LibraryError } from '../../src/library/errors.js';
import { PhotoError } from '../../src/vision/decode.js';
import { QueueFullError } from '../../src/vision/batcher.js';
import { loadWordNet } from '../../src/taxonomy/wordnet-store.js';
import { tempHome } from '../support/env.js';

test('errors map to stable codes and statuses', () => {
  const cases: Array<[unknown, number, string]> = [
    [new PhotoError('too_many_pixels', 'x'), 422, 'too_many_pixels'],
    [new PhotoError('truncated', 'x'), 422, 'truncated'],
    [new PhotoError('unsupported_format', 'x'), 422, 'unsupported_format'],
    [new PhotoError('too_large', 'x'), 413, 'payload_too_large'],
    [new PhotoError('empty_file', 'x'), 400, 'empty_body'],
    [new QueueFullError(4), 429, 'queue_full'],
    [new LibraryError('bad_cursor', 'x'), 400, 'bad_cursor'],
    [new LibraryError('unknown_wnid', 'x'), 404, 'unknown_synset'],
    [new LibraryError('unknown_owner', 'x'), 404, 'unknown_owner'],
    [new LibraryError('not_found', 'x'), 404, 'photo_not_found'],
    [Object.assign(new Error('x'), { code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE', statusCode: 415 }), 415, 'unsupported_media_type'],
    [Object.assign(new Error('x'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 }), 413, 'payload_too_large'],
    [Object.assign(new Error('x'), { validation: [] }), 400, 'bad_request'],
    [new Error('database is locked at /srv/data/pictograph.db'), 500, 'internal_error'],
    ['a string', 500, 'internal_error'],
  ];
  for (const [err, status, code] of cases) {
    const api = toApiError(err, 3);
    assert.ok(api instanceof ApiError);
    assert.equal(api.statusCode, status, code);
    assert.equal(api.code, code);
    assert.ok(!api.message.includes('/srv/data'), 'no server path in the message');
  }
  assert.equal(toApiError(new QueueFullError(1), 3).headers['retry-after'], '3');
});

test('scrubPaths removes absolute paths but keeps words', () => {
  assert.equal(scrubPaths('/home/me/photos/a.jpg: truncated'), '<path>: truncated');
  assert.equal(scrubPaths('cannot read C:/Users/me/x.png now'), 'cannot read <path> now');
  assert.equal(scrubPaths('not an image'), 'not an image');
});

test('safeFileName keeps a tame base name and extension, whatever it is sent', () => {
  assert.equal(safeFileName('../../etc/passwd'), 'passwd.img');
  assert.equal(safeFileName('C:\\Users\\me\\My Dog.JPG'), 'My_Dog.jpg');
  assert.equal(safeFileName('.hidden.png'), 'hidden.png');
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), (name) => {
      const safe = safeFileName(name);
      assert.match(safe, /^[\w.-]+$/);
      assert.ok(!safe.startsWith('.'));
      assert.ok(safe.length <= 90);
    }),
  );
});

test('lemma prefix search: exact lemma first, then known synsets', async () => {
  const home = tempHome('pictograph-units-');
  try {
    const wordnet = await loadWordNet({ env: home.env });
    const dog = searchSynsetsByPrefix(wordnet, 'dog', 5, (w) => w === 'n02084071');
    assert.equal(wordnet.wnid(dog[0]!), 'n02084071');
    const golden = searchSynsetsByPrefix(wordnet, 'Golden Ret', 5, () => false).map((i) => wordnet.wnid(i));
    assert.ok(golden.includes('n02099601'));
    assert.deepEqual(searchSynsetsByPrefix(wordnet, '   ', 5, () => true), []);
    assert.deepEqual(searchSynsetsByPrefix(wordnet, 'zzzzqqq', 5, () => true), []);
  } finally {
    home.cleanup();
  }
});
