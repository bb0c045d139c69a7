// The manifest of known ImageNet classifiers: where each model comes from, how to check it, and exactly how
// its input must be prepared and its output read.

/** How a photo becomes the model's input tensor (the ONNX Model Zoo's ImageNet preprocessing). */
export interface InputSpec {
  /** Side of the square input, in pixels. */
  size: number;
  /** The shorter side is first resized (bilinear) to this many pixels. */
  resizeShorter: number;
  crop: 'center';
  colour: 'RGB';
  /** Pixel values are multiplied by this before normalisation (1/255). */
  scale: number;
  mean: [number, number, number];
  std: [number, number, number];
  layout: 'NCHW';
  /** Name of the graph input. */
  inputName: string;
}

/** A zoo archive that holds the model file. */
export interface ModelArchive {
  url: string;
  /** sha256 of the archive itself (null when it cannot be cited). */
  sha256: string | null;
  /** Path of the `.onnx` file inside the archive. */
  member: string;
}

/** The graph tensor used as the image embedding (pooled penultimate features). */
export interface EmbeddingSpec {
  /** Name of the tensor in the graph. */
  tensor: string;
  /** For quantized graphs: dequantize the tensor with these (scale, zero point) initializers first. */
  dequantize?: { scale: string; zeroPoint: string };
  /** Length of the embedding vector. */
  dims: number;
}

export interface ModelSpec {
  id: string;
  description: string;
  /** File name in the cache and in mirrors. */
  file: string;
  /** Size in bytes (null when unknown). */
  size: number | null;
  /** sha256 of the `.onnx` file; null means unverifiable: refused unless explicitly allowed. */
  sha256: string | null;
  license: string;
  /** Canonical download URLs of the bare `.onnx` file, tried in order. */
  urls: string[];
  archive?: ModelArchive;
  input: InputSpec;
  output: { name: string; kind: 'logits' | 'probabilities' };
  labelSet: 'imagenet-1k';
  /** Largest batch one `session.run` accepts (1 for fixed-batch graphs). */
  maxBatch: number;
  embedding?: EmbeddingSpec;
  /** Published ImageNet validation accuracy (top-1, top-5), for the user's information. */
  accuracy?: { top1: number; top5: number };
}

export const DEFAULT_MODEL_ID = 'mobilenetv2-12-int8';

const ZOO = 'https://huggingface.co/onnxmodelzoo/legacy_models/resolve/main/validated/vision/classification';

const imagenetInput: InputSpec = {
  size: 224,
  resizeShorter: 256,
  crop: 'center',
  colour: 'RGB',
  scale: 1 / 255,
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
  layout: 'NCHW',
  inputName: 'input',
};

export const MODELS: readonly ModelSpec[] = [
  {
    id: 'mobilenetv2-12-int8',
    description: 'MobileNetV2-1.0, int8 quantized (ONNX Model Zoo)',
    file: 'mobilenetv2-12-int8.onnx',
    size: 3_655_033,
    sha256: 'cc028fe6cae7bc11a4ff53cfc9b79c920e8be65ce33a904ec3e2a8f66d77f95f',
    license: 'Apache-2.0',
    urls: [`${ZOO}/mobilenet/model/mobilenetv2-12-int8.onnx`],
    archive: {
      url: `${ZOO}/mobilenet/model/mobilenetv2-12-int8.tar.gz`,
      sha256: 'dfcf1dc15b78611489f22a19902de12e304bf0380e185bde499fcf70f7647455',
      member: 'mobilenetv2-12-int8/mobilenetv2-12-int8.onnx',
    },
    input: imagenetInput,
    output: { name: 'output', kind: 'logits' },
    labelSet: 'imagenet-1k',
    maxBatch: 64,
    embedding: { tensor: '464_quantized', dequantize: { scale: '464_scale', zeroPoint: '464_zero_point' }, dims: 1280 },
    accuracy: { top1: 0.6830, top5: 0.8840 },
  },
  {
    id: 'shufflenet-v2-12-qdq',
    description: 'ShuffleNet-v2, QDQ int8 (ONNX Model Zoo); fixed batch of 1',
    file: 'shufflenet-v2-12-qdq.onnx',
    size: 2_415_805,
    sha256: '7c536d02e2f6af9569e5f3c7a4d8282060072119524c93c8da71e63876b4722b',
    license: 'BSD-3-Clause',
    urls: [`${ZOO}/shufflenet/model/shufflenet-v2-12-qdq.onnx`],
    archive: {
      url: `${ZOO}/shufflenet/model/shufflenet-v2-12-qdq.tar.gz`,
      sha256: null,
      member: 'shufflenet-v2-12-qdq/shufflenet-v2-12-qdq.onnx',
    },
    input: imagenetInput,
    output: { name: 'output', kind: 'logits' },
    labelSet: 'imagenet-1k',
    maxBatch: 1,
    embedding: { tensor: '611', dims: 1024 },
  },
  // The fp32 models below have no checksum we can cite yet: the store refuses them unless the user passes
  // --allow-unverified (then the sha256 actually downloaded is recorded as the model's identity).
  {
    id: 'mobilenetv2-12',
    description: 'MobileNetV2-1.0, fp32 (ONNX Model Zoo); checksum not yet cited',
    file: 'mobilenetv2-12.onnx',
    size: null,
    sha256: null,
    license: 'Apache-2.0',
    urls: [`${ZOO}/mobilenet/model/mobilenetv2-12.onnx`],
    input: imagenetInput,
    output: { name: 'output', kind: 'logits' },
    labelSet: 'imagenet-1k',
    maxBatch: 64,
  },
  {
    id: 'resnet50-v1-12',
    description: 'ResNet-50 v1, fp32 (ONNX Model Zoo); checksum not yet cited',
    file: 'resnet50-v1-12.onnx',
    size: null,
    sha256: null,
    license: 'Apache-2.0',
    urls: [`${ZOO}/resnet/model/resnet50-v1-12.onnx`],
    input: { ...imagenetInput, inputName: 'data' },
    output: { name: 'resnetv17_dense0_fwd', kind: 'logits' },
    labelSet: 'imagenet-1k',
    maxBatch: 64,
  },
];

/** The manifest entry for `id`, or an error listing the known ids. */
export function modelSpec(id: string = DEFAULT_MODEL_ID): ModelSpec {
  const spec = MODELS.find((m) => m.id === id);
  if (!spec) throw new Error(`unknown model "${id}"; known models: ${MODELS.map((m) => m.id).join(', ')}`);
  return spec;
}
