// `pictograph people --owner NAME`: the people found in an owner's photos, and the owner's corrections
// (name, merge, split, reject-face) and face-detection settings.
import type { Command } from 'commander';
import { LibraryError } from '../library/errors.js';
import {
  clusterNewFaces,
  listPeople,
  mergePeople,
  namePerson,
  ownerFaceSettings,
  rejectFace,
  setOwnerFaceSettings,
  splitPerson,
  type PersonSummary,
} from '../library/people.js';
import { faceStage } from '../library/face-stage.js';
import { rescanFaces } from '../library/ingest.js';
import { openSession } from '../library/session.js';
import { loadHierarchy } from '../taxonomy/load.js';
import { FaceDetector } from '../vision/faces/detector.js';
import { findOwnerId } from '../library/store.js';

function parseId(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${what} must be a positive whole number, not ${JSON.stringify(text)}`);
  return n;
}

async function withOwner<T>(owner: string, fn: (db: Awaited<ReturnType<typeof openSession>>['lib']['db'], ownerId: number) => Promise<T>): Promise<T> {
  const s = await openSession();
  try {
    const id = await findOwnerId(s.lib.db, owner);
    if (id === undefined) throw new LibraryError('unknown_owner', `no owner named ${JSON.stringify(owner)}`);
    return await fn(s.lib.db, id);
  } finally {
    await s.close();
  }
}

/** One person as `people --json` prints it. */
export function personRecord(p: PersonSummary) {
  return { id: p.id, name: p.name, faces: p.faces, photos: p.photos, cover: p.cover };
}

function personLine(p: PersonSummary): string {
  const cover = p.cover ? `cover face ${p.cover.id} in photo ${p.cover.photoId}` : '';
  return `${String(p.id).padStart(6)}  ${(p.name ?? '(unnamed)').padEnd(24)}  ${String(p.faces).padStart(4)} faces  ${String(p.photos).padStart(4)} photos  ${cover}\n`;
}

export function register(program: Command): void {
  const people = program
    .command('people')
    .description("the people in an owner's photos (faces grouped per owner), most photographed first")
    .option('--owner <name>', 'whose people (sub-commands: checked against the person or face id when given)')
    .option('--json', 'one JSON object per line per person')
    .action(async (o: { owner?: string; json?: boolean }) => {
      if (o.owner === undefined) throw new Error('people: --owner <name> is required to list people');
      await withOwner(o.owner, async (db, ownerId) => {
        await clusterNewFaces(db, ownerId);
        for (const p of await listPeople(db, ownerId)) process.stdout.write(o.json ? JSON.stringify(personRecord(p)) + '\n' : personLine(p));
      });
    });
  // Person and face ids name their owner; --owner (before or after the sub-command) must agree when given.
  const owner = (cmd: Command) => cmd;
  const ownerOf = (kind: 'person' | 'face', id: number) => async (): Promise<string> => {
    const given = people.opts<{ owner?: string }>().owner;
    const s = await openSession();
    try {
      const row =
        kind === 'person'
          ? await s.lib.db.selectFrom('people as x').innerJoin('owners as o', 'o.id', 'x.owner_id').select('o.name').where('x.id', '=', id).executeTakeFirst()
          : await s.lib.db.selectFrom('faces as x').innerJoin('owners as o', 'o.id', 'x.owner_id').select('o.name').where('x.id', '=', id).executeTakeFirst();
      if (!row || (given !== undefined && given.trim() !== row.name)) throw new LibraryError('not_found', `no ${kind} ${id}${given ? ` of ${given}` : ''}`);
      return row.name;
    } finally {
      await s.close();
    }
  };
  owner(people.command('name').description('name a person (an empty name removes it); later faces of them join them more readily'))
    .argument('<id>', 'person id')
    .argument('<name>', 'e.g. "Aunt Margaret"')
    .action(async (id: string, name: string) => {
      const pid = parseId(id, 'person id');
      await withOwner(await ownerOf('person', pid)(), (db, ownerId) => namePerson(db, ownerId, pid, name.trim() === '' ? null : name));
    });
  owner(people.command('merge').description('merge person B into person A (same person)'))
    .argument('<a>', 'person id kept')
    .argument('<b>', 'person id merged into A')
    .action(async (a: string, b: string) => {
      const pa = parseId(a, 'person id');
      await withOwner(await ownerOf('person', pa)(), (db, ownerId) => mergePeople(db, ownerId, pa, parseId(b, 'person id')));
    });
  owner(people.command('split').description('move faces of a person to a new person; prints the new id'))
    .argument('<id>', 'person id')
    .argument('<faces...>', 'face ids to move')
    .option('--name <name>', 'name of the new person')
    .action(async (id: string, faces: string[], o: { name?: string }) => {
      const pid = parseId(id, 'person id');
      const fresh = await withOwner(await ownerOf('person', pid)(), (db, ownerId) =>
        splitPerson(db, ownerId, pid, faces.map((f) => parseId(f, 'face id')), o.name ?? null),
      );
      process.stdout.write(`${fresh}\n`);
    });
  owner(people.command('reject-face').description('"not this person": take a face out of its person for good'))
    .argument('<face>', 'face id')
    .action(async (face: string) => {
      const fid = parseId(face, 'face id');
      await withOwner(await ownerOf('face', fid)(), (db, ownerId) => rejectFace(db, ownerId, fid));
    });
  owner(people.command('settings').description("turn face detection on or off for the owner's photos, and names on public photos"))
    .option('--faces <on|off>', 'detect faces in new photos (off also deletes the faces and people found so far)')
    .option('--public-names <on|off>', 'show the names of people on public photos')
    .option('--json', 'print the settings as JSON')
    .action(async (o: { faces?: string; publicNames?: string; json?: boolean }) => {
      const ownerName = people.opts<{ owner?: string }>().owner;
      if (ownerName === undefined) throw new Error('people settings: --owner <name> is required');
      const flag = (v: string | undefined, what: string) => {
        if (v === undefined) return undefined;
        if (v !== 'on' && v !== 'off') throw new Error(`${what} takes on or off, not ${JSON.stringify(v)}`);
        return v === 'on';
      };
      const settings = await withOwner(ownerName, async (db, ownerId) => {
        await setOwnerFaceSettings(db, ownerId, { enabled: flag(o.faces, '--faces'), public: flag(o.publicNames, '--public-names') });
        return ownerFaceSettings(db, ownerId);
      });
      process.stdout.write(o.json ? JSON.stringify(settings) + '\n' : `faces ${settings.enabled ? 'on' : 'off'}, public names ${settings.public ? 'on' : 'off'}\n`);
    });
  owner(people.command('rescan').description("detect faces in the owner's stored photos never scanned (e.g. after `settings --faces on`)"))
    .option('--all', 'look again at every photo of the owner, faces stage included even where the classification rules people out')
    .option('--json', 'print the summary as JSON')
    .action(async (o: { all?: boolean; json?: boolean }) => {
      // --owner and --json (before or after `rescan`) may land on the `people` command.
      const { owner: ownerName, json } = { ...people.opts<{ owner?: string; json?: boolean }>(), ...(o.json ? { json: true } : {}) };
      if (ownerName === undefined) throw new Error('people rescan: --owner <name> is required');
      const summary = await withOwner(ownerName, async (db, ownerId) => {
        const detector = await FaceDetector.load();
        try {
          const stage = faceStage(detector, await loadHierarchy());
          return await rescanFaces(db, ownerId, stage, { all: o.all });
        } finally {
          await detector.close();
        }
      });
      if (json) process.stdout.write(JSON.stringify(summary) + '\n');
      else {
        process.stdout.write(`${summary.scanned} photos scanned, ${summary.faces} faces, ${summary.people} new people\n`);
        for (const f of summary.failed) process.stdout.write(`photo ${f.photoId} (${f.file}): ${f.error.message}\n`);
      }
      if (summary.failed.length > 0) process.exitCode = 1;
    });
}
