// Extends an ONNX model in memory with extra graph outputs (e.g. the pooled penultimate features used as
// an image embedding) by appending protobuf fields: repeated fields of an embedded message are merged by
// every conforming parser, so the original bytes stay untouched and their sha256 stays the model's identity.

/** A node to append to the graph (ONNX NodeProto subset). */
export interface ExtraNode {
  opType: string;
  inputs: string[];
  outputs: string[];
  name: string;
  domain?: string;
}

function varint(value: number): number[] {
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

function lengthDelimited(field: number, payload: Uint8Array): Uint8Array {
  const head = [...varint((field << 3) | 2), ...varint(payload.length)];
  const out = new Uint8Array(head.length + payload.length);
  out.set(head, 0);
  out.set(payload, head.length);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

function encodeNode(node: ExtraNode): Uint8Array {
  return concat([
    ...node.inputs.map((i) => lengthDelimited(1, text(i))),
    ...node.outputs.map((o) => lengthDelimited(2, text(o))),
    lengthDelimited(3, text(node.name)),
    lengthDelimited(4, text(node.opType)),
    ...(node.domain ? [lengthDelimited(7, text(node.domain))] : []),
  ]);
}

/**
 * The model bytes followed by a second `graph` field (ModelProto field 7) holding the extra nodes
 * (GraphProto field 1) and extra outputs (GraphProto field 12, ValueInfoProto with only a name).
 */
export function withExtraOutputs(model: Uint8Array, outputs: string[], nodes: ExtraNode[] = []): Uint8Array {
  const graph = concat([
    ...nodes.map((n) => lengthDelimited(1, encodeNode(n))),
    ...outputs.map((o) => lengthDelimited(12, lengthDelimited(1, text(o)))),
  ]);
  return concat([model, lengthDelimited(7, graph)]);
}
