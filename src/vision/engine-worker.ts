// Runs one ONNX Runtime session on a worker thread, so inference never blocks the main event loop (decode
// completions, HTTP requests). Protocol: workerData opens the session; {id, data, n} runs a batch.
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';

export interface WorkerInit {
  /** Model bytes with the embedding output added, when there is one. */
  extended: Uint8Array | null;
  plain: Uint8Array;
  options: ort.InferenceSession.SessionOptions;
  inputName: string;
  size: number;
}

export type WorkerReply =
  | { type: 'ready'; inputNames: readonly string[]; outputNames: readonly string[]; extended: boolean }
  | { type: 'failed'; message: string }
  | { type: 'result'; id: number; outputs: Record<string, Float32Array> }
  | { type: 'error'; id: number; message: string };

export type WorkerRequest = { type: 'run'; id: number; data: Float32Array; n: number; fetches: string[] } | { type: 'close' };

const port = parentPort!;
const init = workerData as WorkerInit;

async function open(): Promise<{ session: ort.InferenceSession; extended: boolean }> {
  if (init.extended) {
    try {
      return { session: await ort.InferenceSession.create(init.extended, init.options), extended: true };
    } catch {
      // The graph refused the extra output: the engine falls back to the probabilities as embedding.
    }
  }
  return { session: await ort.InferenceSession.create(init.plain, init.options), extended: false };
}

try {
  const { session, extended } = await open();
  // The manifest's input name, or the graph's only input (the engine checks the same rule on 'ready').
  const inputName = session.inputNames.includes(init.inputName) || session.inputNames.length !== 1 ? init.inputName : session.inputNames[0];
  port.on('message', async (m: WorkerRequest) => {
    if (m.type === 'close') {
      await session.release();
      port.close();
      return;
    }
    try {
      const feeds = { [inputName]: new ort.Tensor('float32', m.data, [m.n, 3, init.size, init.size]) };
      const result = await session.run(feeds, m.fetches);
      const outputs: Record<string, Float32Array> = {};
      for (const name of m.fetches) {
        outputs[name] = new Float32Array(result[name].data as Float32Array);
        result[name].dispose();
      }
      port.postMessage({ type: 'result', id: m.id, outputs } satisfies WorkerReply, Object.values(outputs).map((o) => o.buffer as ArrayBuffer));
    } catch (err) {
      port.postMessage({ type: 'error', id: m.id, message: err instanceof Error ? err.message : String(err) } satisfies WorkerReply);
    }
  });
  port.postMessage({ type: 'ready', inputNames: session.inputNames, outputNames: session.outputNames, extended } satisfies WorkerReply);
} catch (err) {
  port.postMessage({ type: 'failed', message: err instanceof Error ? err.message : String(err) } satisfies WorkerReply);
}
