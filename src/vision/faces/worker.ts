// Runs @vladmandic/human (BlazeFace + FaceMesh + FaceRes, CenterNet persons) on TensorFlow.js' wasm backend on a
// worker thread, offline: the wasm binaries and the model weights are read from the installed npm packages, two
// of the graphs rewritten at load for speed (graphs.ts: FaceRes fused, CenterNet at OBJECT_SIDE scoring persons).
// Protocol: workerData configures; {type:'detect', id, rgb, width, height} answers with raw detections in the
// pixel coordinates of the image it was given (the main thread scales them to the original).
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { centerNetPersonsOnly, fuseRelu6Blocks, readModelArtifacts, resizeCenterNet, type GraphParts, type GraphTf } from './graphs.js';

export interface FaceWorkerInit {
  /** Face detector floor (BlazeFace box score); the decision happens later, on all the evidence. */
  minFaceScore: number;
  minObjectScore: number;
  maxFaces: number;
  /** Compute the 1024-d FaceRes descriptor of each face (for clustering into people). */
  embeddings: boolean;
  /** CenterNet's input side in pixels (the model ships at 512; smaller sides are rewritten in, see graphs.ts). */
  objectSide: number;
}

export interface RawFace {
  box: [number, number, number, number];
  /** Human's combined score (mesh confidence when the mesh ran). */
  score: number;
  boxScore: number;
  meshScore: number;
  /** Five points: right eye, left eye, nose tip, mouth right, mouth left (image pixels). */
  landmarks: Array<[number, number]>;
  yaw: number;
  pitch: number;
  roll: number;
  embedding: number[] | null;
}

export interface RawObject {
  label: string;
  score: number;
  box: [number, number, number, number];
}

/** Which detectors run on one image: the face pipeline (BlazeFace, mesh, descriptor) and/or CenterNet objects. */
export interface FaceWorkerStages {
  faces: boolean;
  objects: boolean;
}

export type FaceWorkerRequest = { type: 'detect'; id: number; rgb: Uint8Array; width: number; height: number; stages: FaceWorkerStages } | { type: 'close' };
export type FaceWorkerReply =
  | { type: 'ready'; backend: string; version: string }
  | { type: 'failed'; message: string }
  | { type: 'result'; id: number; faces: RawFace[]; objects: RawObject[]; ms: number }
  | { type: 'error'; id: number; message: string };

const port = parentPort!;
const init = workerData as FaceWorkerInit;
const require = createRequire(import.meta.url);

// Mesh indices of the five usual landmarks (MediaPipe FaceMesh topology).
const LANDMARKS: Array<[number, number]> = [
  [33, 133], // right eye corners
  [263, 362], // left eye corners
  [1, 1], // nose tip
  [61, 61], // mouth right corner
  [291, 291], // mouth left corner
];

interface TfLike extends GraphTf {
  io: GraphTf['io'] & { registerLoadRouter(router: (url: string | string[]) => unknown): void };
  tensor3d(values: Uint8Array, shape: [number, number, number], dtype: 'int32'): { dispose(): void };
  getBackend(): string;
}

interface HumanLike {
  tf: TfLike;
  version: string;
  load(): Promise<void>;
  detect(input: unknown, config?: { face: { enabled: boolean }; object: { enabled: boolean } }): Promise<{
    error?: string | null;
    face: Array<{
      box: [number, number, number, number];
      score: number;
      boxScore: number;
      faceScore: number;
      mesh: Array<[number, number, number?]>;
      embedding?: number[];
      rotation?: { angle: { yaw: number; pitch: number; roll: number } } | null;
    }>;
    object: Array<{ label: string; score: number; box: [number, number, number, number] }>;
  }>;
}

/**
 * The graph rewrites applied to a model file by name (graphs.ts): FaceRes's blocks fused; CenterNet scoring persons
 * only, at `objectSide`. A graph they do not recognise (another release of the models) is used as shipped, with a
 * warning: slower, not broken (human reads CenterNet's input side from the graph).
 */
function rewriteFor(file: string): ((parts: GraphParts) => GraphParts) | undefined {
  const asShipped = (rewrite: (parts: GraphParts) => GraphParts) => (parts: GraphParts) => {
    try {
      return rewrite(parts);
    } catch (err) {
      console.warn(`face detection: ${file} used as shipped (${err instanceof Error ? err.message : String(err)})`);
      return parts;
    }
  };
  if (file.endsWith('/faceres.json')) return asShipped((p) => fuseRelu6Blocks(p).parts);
  if (file.endsWith('/centernet.json')) {
    return asShipped((p) => {
      const persons = centerNetPersonsOnly(p);
      return init.objectSide === 512 ? persons : resizeCenterNet(persons, init.objectSide);
    });
  }
  return undefined;
}

/** Serves `file://` model URLs from disk (Node's fetch has no file scheme), rewritten where `rewriteFor` says. */
function fileModelRouter(tf: TfLike) {
  return (url: string | string[]) => {
    if (typeof url !== 'string' || !url.startsWith('file://')) return null;
    const file = new URL(url).pathname;
    return { load: () => readModelArtifacts(tf, file, rewriteFor(file)) };
  };
}

async function open(): Promise<HumanLike> {
  // The package's "exports" only maps its default build (tfjs-node); load the wasm build by path.
  const dist = dirname(require.resolve('@vladmandic/human'));
  const { Human } = require(join(dist, 'human.node-wasm.js')) as { Human: new (config: unknown) => HumanLike };
  const wasmDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
  const human = new Human({
    backend: 'wasm',
    wasmPath: wasmDir + '/',
    modelBasePath: 'file://' + join(dist, '..', 'models') + '/',
    debug: false,
    async: true,
    warmup: 'none',
    cacheSensitivity: 0,
    filter: { enabled: false },
    face: {
      enabled: true,
      detector: { rotation: false, maxDetected: init.maxFaces, minConfidence: init.minFaceScore, return: false },
      mesh: { enabled: true },
      iris: { enabled: false },
      description: { enabled: init.embeddings },
      emotion: { enabled: false },
      antispoof: { enabled: false },
      liveness: { enabled: false },
    },
    body: { enabled: false },
    hand: { enabled: false },
    gesture: { enabled: false },
    segmentation: { enabled: false },
    object: { enabled: true, minConfidence: init.minObjectScore, maxDetected: 20 },
  });
  human.tf.io.registerLoadRouter(fileModelRouter(human.tf));
  await human.load();
  return human;
}

const round = (x: number): number => Math.round(x * 10) / 10;

async function detect(human: HumanLike, rgb: Uint8Array, width: number, height: number, stages: FaceWorkerStages) {
  const started = performance.now();
  const tensor = human.tf.tensor3d(rgb, [height, width, 3], 'int32');
  try {
    // Human merges this into its configuration, so both switches are given every time.
    const r = await human.detect(tensor, { face: { enabled: stages.faces }, object: { enabled: stages.objects } });
    if (r.error) throw new Error(String(r.error));
    const faces: RawFace[] = r.face.map((f) => ({
      box: f.box.map(round) as RawFace['box'],
      score: f.score,
      boxScore: f.boxScore,
      meshScore: f.faceScore,
      landmarks:
        f.mesh.length >= 468
          ? LANDMARKS.map(([a, b]) => [round((f.mesh[a][0] + f.mesh[b][0]) / 2), round((f.mesh[a][1] + f.mesh[b][1]) / 2)] as [number, number])
          : [],
      yaw: f.rotation?.angle.yaw ?? 0,
      pitch: f.rotation?.angle.pitch ?? 0,
      roll: f.rotation?.angle.roll ?? 0,
      embedding: f.embedding && f.embedding.length > 0 ? Array.from(f.embedding) : null,
    }));
    const objects: RawObject[] = r.object.map((o) => ({ label: o.label, score: o.score, box: o.box.map(round) as RawObject['box'] }));
    return { faces, objects, ms: performance.now() - started };
  } finally {
    tensor.dispose();
  }
}

open().then(
  (human) => {
    port.postMessage({ type: 'ready', backend: human.tf.getBackend(), version: human.version } satisfies FaceWorkerReply);
    // One photo at a time: the wasm backend is single-threaded; the main thread keeps the queue bounded.
    let chain = Promise.resolve();
    port.on('message', (m: FaceWorkerRequest) => {
      if (m.type === 'close') {
        port.close();
        return;
      }
      chain = chain.then(async () => {
        try {
          const out = await detect(human, m.rgb, m.width, m.height, m.stages);
          port.postMessage({ type: 'result', id: m.id, ...out } satisfies FaceWorkerReply);
        } catch (err) {
          port.postMessage({ type: 'error', id: m.id, message: err instanceof Error ? err.message : String(err) } satisfies FaceWorkerReply);
        }
      });
    });
  },
  (err: unknown) => port.postMessage({ type: 'failed', message: err instanceof Error ? err.message : String(err) } satisfies FaceWorkerReply),
);
