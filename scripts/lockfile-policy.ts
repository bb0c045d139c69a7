// Lock-file policy: no dependency, direct or transitive, may be resolved through a range that a new publish can
// move (a dist-tag such as `latest`/`next`, `*`/`x`/empty, an unbounded `>=`, or a git/URL spec), unless the root
// package.json's `overrides` pins that package to a bounded range. `npm ci` refuses a lock whose tag moved on.
// Run: `node --import tsx scripts/lockfile-policy.ts [package-lock.json] [package.json]` (exit 1 on a violation).
import { readFileSync } from 'node:fs';
import semver from 'semver';

export interface Violation {
  /** The lock entry declaring the range ('' = the root project). */
  from: string;
  field: string;
  name: string;
  range: string;
  why: string;
}

interface LockPackage {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

/** Why a range can move under a new publish, or null when it cannot. */
export function movingRange(range: string, opts: { peer?: boolean } = {}): string | null {
  let r = range.trim();
  if (r.startsWith('npm:')) r = r.slice(r.lastIndexOf('@') + 1); // alias: judge its range
  if (/^(file|link|workspace):/.test(r)) return null; // local: moves only with this repository
  if (/^(git\+|git:|github:|https?:)|^[\w.-]+\/[\w.-]+(#.*)?$/.test(r)) return 'a git or URL spec follows whatever is pushed';
  const valid = semver.validRange(r);
  if (valid === null) return `"${range}" is a dist-tag, re-pointed by every publish`;
  if (valid === '*') return `"${range || '(empty)'}" accepts any version, a new major too`;
  // Peers are satisfied by what the tree already holds; an open upper bound there moves nothing.
  if (!opts.peer && semver.satisfies('999999.0.0', valid)) return `"${range}" has no upper bound`;
  return null;
}

/** Every moving range in a package-lock.json (v2/v3), less those the root overrides pin. */
export function lockfileViolations(lock: { packages?: Record<string, LockPackage> }, pkg: { overrides?: Record<string, unknown>; dependencies?: Record<string, string>; devDependencies?: Record<string, string> }): Violation[] {
  const pinned = new Set<string>();
  const violations: Violation[] = [];
  for (const [name, spec] of Object.entries(pkg.overrides ?? {})) {
    if (typeof spec !== 'string') continue; // nested overrides: judged where they resolve
    const ref = spec.startsWith('$') ? pkg.dependencies?.[spec.slice(1)] ?? pkg.devDependencies?.[spec.slice(1)] : spec;
    const why = ref === undefined ? `override "${spec}" names no root dependency` : movingRange(ref);
    if (why) violations.push({ from: 'package.json', field: 'overrides', name, range: spec, why });
    else pinned.add(name);
  }
  const fields = ['dependencies', 'optionalDependencies', 'devDependencies', 'peerDependencies'] as const;
  for (const [from, entry] of Object.entries(lock.packages ?? {})) {
    for (const field of fields) {
      if (field === 'devDependencies' && from !== '') continue; // a dependency's dev tree is never installed
      for (const [name, range] of Object.entries(entry[field] ?? {})) {
        if (pinned.has(name)) continue;
        const why = movingRange(range, { peer: field === 'peerDependencies' });
        if (why) violations.push({ from: from || '(root)', field, name, range, why });
      }
    }
  }
  return violations;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const lock = JSON.parse(readFileSync(process.argv[2] ?? 'package-lock.json', 'utf8'));
  const pkg = JSON.parse(readFileSync(process.argv[3] ?? 'package.json', 'utf8'));
  const found = lockfileViolations(lock, pkg);
  for (const v of found) console.error(`${v.from} ${v.field} ${v.name}@${v.range}: ${v.why}; pin it in package.json "overrides"`);
  console.log(found.length === 0 ? 'lock file: no moving ranges' : `lock file: ${found.length} moving range(s)`);
  process.exit(found.length === 0 ? 0 : 1);
}
