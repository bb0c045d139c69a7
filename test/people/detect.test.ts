// Face and person detection on real photos with the real models: human faces found with boxes in original
// pixels (after EXIF orientation), person/group/portrait decided, and the animal faces BlazeFace fires on
// (cat, dog, meerkats, baboon) NOT taken for people. A handful of photos: the wasm backend is single-threaded.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { faceStage, type FaceStage } from '../../src/library/face-stage.js';
import { loadRecognizer, type LoadedRecognizer } from '../../src/library/recognizer.js';
import { PERSON_WNID } from '../../src/taxonomy/people.js';
import { FaceDetector } from '../../src/vision/faces/detector.js';
import { photosDir, tempHome } from '../support/env.js';

let detector: FaceDetector;
let recognizer: LoadedRecognizer;
let stage: FaceStage;
const home = tempHome('pictograph-faces-');

before(async () => {
  detector = await FaceDetector.load();
  recognizer = await loadRecognizer({ env: home.env });
  stage = faceStage(detector, recognizer.taxonomy.hierarchy);
});
after(async () => {
  await detector.close();
  await recognizer.close();
  home.cleanup();
});

// The product's path: faces while the photo is classified, person bodies only where the analysis asks for them.
async function judge(bytes: Buffer) {
  const recognized = recognizer.recognize(bytes);
  const [seen, detection] = await Promise.all([recognized, stage.detect(bytes, recognized.then((r) => r.analysis))]);
  return { seen, detection, ...stage.apply(seen.analysis, detection) };
}

test('a dinner party: several human faces inside the photo, person and group, person synset lifted', async () => {
  const bytes = readFileSync(join(photosDir, 'dlib_dinner-party.jpg'));
  const { detection, scan, analysis } = await judge(bytes);
  const faces = scan.evidence.faces;
  assert.ok(faces.length >= 3, `found ${faces.length} faces`);
  for (const f of faces) {
    const [x, y, w, h] = f.box;
    assert.ok(x >= -2 && y >= -2 && x + w <= detection.width + 2 && y + h <= detection.height + 2, `box ${f.box} inside ${detection.width}x${detection.height}`);
    assert.equal(f.landmarks.length, 5);
    assert.equal(f.embedding?.length, 1024);
  }
  assert.deepEqual(scan.evidence.tags.map((t) => t.id), ['person', 'group']);
  const person = analysis.nodeScores.find((n) => n.wnid === PERSON_WNID);
  assert.ok(person && person.score >= 0.8);
  assert.ok(analysis.categories.some((c) => c.id === 'person'));
});

test('a portrait', async () => {
  const { scan } = await judge(readFileSync(join(photosDir, 'gramps_o3-old-man-hat.jpg')));
  assert.deepEqual(scan.evidence.tags.map((t) => t.id), ['person', 'portrait']);
});

test('animal faces are not people (cat, dog, meerkats, baboon)', async () => {
  for (const f of ['faces_cat.jpg', 'forensics_white-dog-tiles.jpg', 'gcompris_meerkats.jpg', 'opencv_baboon.jpg']) {
    const { scan, detection, analysis } = await judge(readFileSync(join(photosDir, f)));
    assert.equal(scan.evidence.faces.length, 0, `${f}: ${detection.faces.length} raw faces, none human`);
    assert.deepEqual(scan.evidence.tags, [], f);
    assert.ok(!analysis.categories.some((c) => c.id === 'person'), f);
  }
});

test('EXIF orientation: boxes are in the displayed (rotated) photo', async () => {
  const bytes = readFileSync(join(photosDir, 'gramps_o3-old-man-hat.jpg'));
  const upright = await detector.detect(bytes);
  // The same pixels stored rotated 90 degrees counter-clockwise with orientation 6 ("rotate 90 cw to display").
  const stored = await sharp(bytes).rotate(-90).withMetadata({ orientation: 6 }).jpeg({ quality: 95 }).toBuffer();
  const rotated = await detector.detect(stored);
  assert.equal(rotated.width, upright.width);
  assert.equal(rotated.height, upright.height);
  assert.ok(rotated.faces.length >= 1);
  const [a, b] = [upright.faces[0].box, rotated.faces[0].box];
  for (let i = 0; i < 4; i++) assert.ok(Math.abs(a[i] - b[i]) <= Math.max(8, 0.1 * upright.width), `box ${b} vs ${a}`);
});

test('an undecodable file is a clear error, and the detector keeps working', async () => {
  await assert.rejects(detector.detect(Buffer.from('not an image')));
  const ok = await detector.detect(readFileSync(join(photosDir, 'gramps_o3-old-man-hat.jpg')));
  assert.ok(ok.faces.length >= 1);
});

test('person bodies are looked for only where faces leave people open: a surfer seen from afar yes, a landscape no', async () => {
  const surfer = await judge(readFileSync(join(photosDir, 'faces_surfer.jpg')));
  assert.equal(surfer.detection.bodies, true);
  assert.equal(surfer.scan.evidence.faces.length, 0);
  assert.ok(surfer.scan.evidence.bodies.length >= 1);
  assert.deepEqual(surfer.scan.evidence.tags.map((t) => t.id), ['person']);
  const dinner = await judge(readFileSync(join(photosDir, 'dlib_dinner-party.jpg')));
  assert.equal(dinner.detection.bodies, false, 'three faces or more decide person and group alone');
  const landscape = await judge(readFileSync(join(photosDir, 'qt_mountain-lake.jpg')));
  assert.equal(landscape.detection.bodies, false);
  assert.deepEqual(landscape.scan.evidence.tags, []);
});

test('a photo stored sideways with no EXIF orientation: the face stage turns it, finds the two men, boxes in the photo as stored', async () => {
  const bytes = readFileSync(join(photosDir, 'kpa_wayne-sideways.jpg'));
  const { detection, scan } = await judge(bytes);
  assert.equal(detection.turn, 90, 'found in the photo turned a quarter clockwise');
  assert.ok(scan.evidence.faces.length >= 2, `found ${scan.evidence.faces.length} faces`);
  assert.deepEqual(scan.evidence.tags.map((t) => t.id), ['person']);
  for (const f of scan.evidence.faces) {
    const [x, y, w, h] = f.box;
    assert.ok(x >= -2 && y >= -2 && x + w <= detection.width + 2 && y + h <= detection.height + 2, `box ${f.box} inside ${detection.width}x${detection.height}`);
    // A face turned a quarter clockwise to look upright lies on its side as stored: eyes one above the other.
    const [right, left] = f.landmarks;
    assert.ok(Math.abs(right![1] - left![1]) > Math.abs(right![0] - left![0]), `eyes ${JSON.stringify(f.landmarks.slice(0, 2))}`);
  }
  // Upright photos are not turned, nor photos without people.
  assert.equal((await judge(readFileSync(join(photosDir, 'gramps_o3-old-man-hat.jpg')))).detection.turn, 0);
  assert.equal((await judge(readFileSync(join(photosDir, 'qt_mountain-lake.jpg')))).detection.turn, 0);
});

test('turned looks: the same face found in a portrait stored upside down, its box mapped back onto the photo as stored', async () => {
  const bytes = readFileSync(join(photosDir, 'gramps_o3-old-man-hat.jpg'));
  const upright = await detector.detect(bytes, { wantBodies: () => false });
  const stored = await sharp(bytes).rotate(180).jpeg({ quality: 95 }).toBuffer();
  const asked: number[] = [];
  const turned = await detector.detect(stored, {
    wantBodies: () => false,
    wantTurn: (found) => {
      asked.push(found.turn);
      return found.faces.length === 0;
    },
  });
  assert.deepEqual(asked, [0, 90, 270, 180], 'upright, both quarters, then upside down');
  assert.equal(turned.turn, 180);
  assert.equal(turned.faces.length, upright.faces.length);
  const [a, b] = [upright.faces[0]!.box, turned.faces[0]!.box];
  // Upside down: the box mirrored through the photo's centre.
  const expected = [upright.width - a[0] - a[2], upright.height - a[1] - a[3], a[2], a[3]];
  for (let i = 0; i < 4; i++) assert.ok(Math.abs(expected[i]! - b[i]) <= Math.max(8, 0.05 * upright.width), `box ${b} vs ${expected}`);
});
