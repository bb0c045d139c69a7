// Stored calibrations (DARTS lambdas) per model, scoring rule and target: the user's cache first, then the committed defaults.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { cacheDir, projectDataFile } from '../config/paths.js';
import type { Calibration } from './hedge.js';
import type { ScoreRule } from './score.js';

export interface CalibrationKey {
  modelId: string;
  target: number;
  rule?: ScoreRule;
  labelSet?: string;
}

/** File name of a calibration, e.g. `mobilenetv2-12-int8.imagenet-1k.sum.t0.900.json`. */
export function calibrationFileName(key: CalibrationKey): string {
  if (!/^[A-Za-z0-9._-]+$/.test(key.modelId)) throw new Error(`bad model id '${key.modelId}'`);
  if (!(key.target > 0 && key.target < 1)) throw new Error(`target must lie in (0, 1), got ${key.target}`);
  return `${key.modelId}.${key.labelSet ?? 'imagenet-1k'}.${key.rule ?? 'sum'}.t${key.target.toFixed(3)}.json`;
}

/** Where calibrations made by `pictograph calibrate` live. */
export function calibrationsDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheDir(env), 'calibrations');
}

/** Committed default calibrations (computed on the shared ImageNet calibration set). */
export function defaultCalibrationsDir(): string {
  return projectDataFile('calibrations');
}

/** Writes a calibration (to the cache, or to `file` when given); returns the path written. */
export function saveCalibration(cal: Calibration, opts: { env?: NodeJS.ProcessEnv; file?: string } = {}): string {
  const file = opts.file ?? join(calibrationsDir(opts.env), calibrationFileName(cal));
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(cal, null, 2) + '\n');
  renameSync(tmp, file);
  return file;
}

/** The calibration for a key: from the cache, else the committed default, else null. */
export function loadCalibration(key: CalibrationKey, opts: { env?: NodeJS.ProcessEnv } = {}): (Calibration & { file: string }) | null {
  const name = calibrationFileName(key);
  for (const dir of [calibrationsDir(opts.env), defaultCalibrationsDir()]) {
    const file = join(dir, name);
    if (!existsSync(file)) continue;
    const cal = JSON.parse(readFileSync(file, 'utf8')) as Calibration;
    if (typeof cal.lambda !== 'number' || !Number.isFinite(cal.lambda)) throw new Error(`${file}: no lambda`);
    return { ...cal, file };
  }
  return null;
}
