// The manifest of known ImageNet classifiers: where each model comes from, how to check it, and exactly how
// its input must be prepared and its output read.

/** How a photo becomes the model's input tensor (the ONNX Model Zoo's ImageNet preprocessing). */
export interface InputSpec {
  /** Side of the square input, in pixels. */
  size: number;
  /** With `crop: 'center'`, the shorter side is first resized (bilinear) to this many pixels. */
  resizeShorter: number;
  /**
   * 'center': shorter side to `resizeShorter`, then a centred size x size crop (the zoo's torchvision recipe);
   * 'none': the whole photo stretched to size x size (the zoo's recipe for Caffe-era models such as GoogLeNet).
   */
  crop: 'center' | 'none';
  /** Channel order of the tensor's planes. */
  colour: 'RGB' | 'BGR';
  /** Pixel values are multiplied by this before normalisation (1/255, or 1 for 0-255 models). */
  scale: number;
  /** Per plane, in the tensor's channel order. */
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
  // The three below are cited by the Git LFS object id (= sha256) and size of the file in the onnx/models
  // repository (validated/vision/classification/..., commit 4c46cd00fbdb7cd30b6c1c17ab54f2e1f4f7b177), which the
  // Hugging Face mirror serves unchanged. Not run here (no copy in the local mirror): the engine checks their
  // graph names on load and takes the graph's only input/output when a re-export renamed them.
  {
    id: 'googlenet-12-int8',
    description: "GoogLeNet (BVLC, the seed report's model), int8 quantized (ONNX Model Zoo); fixed batch of 1",
    file: 'googlenet-12-int8.onnx',
    size: 7_122_858,
    sha256: '282290386d7055c1b1e9692680621907991a87f9839391892b5cbe4da2e9871f',
    license: 'BSD-3-Clause',
    urls: [`${ZOO}/inception_and_googlenet/googlenet/model/googlenet-12-int8.onnx`],
    // The zoo's GoogLeNet recipe: resize to 224 x 224 (no crop), 0-255 values minus the Caffe means, BGR planes.
    input: {
      size: 224,
      resizeShorter: 224,
      crop: 'none',
      colour: 'BGR',
      scale: 1,
      mean: [103.939, 116.779, 123.68],
      std: [1, 1, 1],
      layout: 'NCHW',
      inputName: 'data_0',
    },
    output: { name: 'prob_0', kind: 'probabilities' },
    labelSet: 'imagenet-1k',
    maxBatch: 1,
    accuracy: { top1: 0.6773, top5: 0.8832 },
  },
  {
    id: 'resnet50-v1-12-int8',
    description: 'ResNet-50 v1, int8 quantized (ONNX Model Zoo); run one image at a time',
    file: 'resnet50-v1-12-int8.onnx',
    size: 25_816_052,
    sha256: 'c234f30975989788b4405f25253275aae247ab6dbdd34aaa69ab0a59ff76f6d0',
    license: 'Apache-2.0',
    urls: [`${ZOO}/resnet/model/resnet50-v1-12-int8.onnx`],
    input: { ...imagenetInput, inputName: 'data' },
    output: { name: 'resnetv17_dense0_fwd', kind: 'logits' },
    labelSet: 'imagenet-1k',
    maxBatch: 1,
  },
  {
    id: 'shufflenet-v2-12',
    description: 'ShuffleNet-v2, fp32 (ONNX Model Zoo); run one image at a time',
    file: 'shufflenet-v2-12.onnx',
    size: 9_218_556,
    sha256: 'ea69821b4dd374ae2f33f9710dd1229ac263d0ee5b5a46ca3521f6483e1ba035',
    license: 'BSD-3-Clause',
    urls: [`${ZOO}/shufflenet/model/shufflenet-v2-12.onnx`],
    input: imagenetInput,
    output: { name: 'output', kind: 'logits' },
    labelSet: 'imagenet-1k',
    maxBatch: 1,
  },
  // The fp32 models below have no checksum we can cite yet: the store refuses them unless the user passes
  // --allow-unverified (then the sha256 actually downloaded is recorded as the model's identity).
  {
    id: 'mobilenetv2-12',
    description: 'MobileNetV2-1.0, fp32 (ONNX Model Zoo); only its archive checksum is cited',
    file: 'mobilenetv2-12.onnx',
    size: null,
    sha256: null,
    license: 'Apache-2.0',
    urls: [`${ZOO}/mobilenet/model/mobilenetv2-12.onnx`],
    // onnx/models' Git LFS object for the archive (commit 2a67a85e670e61bf9819e9df6dae3771974552ff): 13,498,787
    // bytes, sha256 5f83b422708a708b592a5fd56d84710038511789df3ae510b84123930c37762d. The .onnx inside is not cited.
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
