// A loaded ONNX model as the rest of the service sees it: score a batch of rows, read the
// metadata the exporter put in the file, release the native session. Everything onnxruntime-
// specific stays behind this interface.
import { fromBinary } from "@bufbuild/protobuf";
import * as ort from "onnxruntime-node";
import { ModelProtoSchema } from "../../gen/onnx/onnx_pb.js";

/** A scoring session over one model file. */
export interface OnnxModel {
  /** Scores `rows` row-major rows in one batched run; one value per row. */
  run(features: Float32Array, rows: number): Promise<Float32Array>;
  /** The file's metadata_props (feature map, metrics, version…). */
  metadata(): Record<string, string>;
  /** Frees the native session; later runs reject. Safe to call more than once. */
  release(): Promise<void>;
}

/**
 * Loads model bytes into a fresh onnxruntime session. Rejects with a message naming the cause
 * when the bytes are not a model onnxruntime can run, so a bad file never replaces a good one.
 */
export async function loadSession(bytes: Uint8Array): Promise<OnnxModel> {
  // Metadata is decoded from the bytes with our own schema rather than read through onnxruntime's
  // API: it is the same file, and this way the reader of metadata is the writer's own schema.
  // Decoding first also turns a corrupt or truncated file into a plain message instead of a
  // C++ source path from onnxruntime.
  if (bytes.length === 0) throw new Error("not an ONNX model: no bytes");
  let metadata: Record<string, string>;
  try {
    const model = fromBinary(ModelProtoSchema, bytes);
    metadata = Object.fromEntries(model.metadataProps.map((p) => [p.key, p.value]));
  } catch (error) {
    throw new Error(`not an ONNX model (corrupt or truncated bytes): ${describe(error)}`, { cause: error });
  }

  let session: ort.InferenceSession;
  try {
    // Default options on purpose: intraOpNumThreads must be absent, not undefined (see STACK-NOTES).
    session = await ort.InferenceSession.create(bytes);
  } catch (error) {
    throw new Error(`onnxruntime could not load the model: ${describe(error)}`, { cause: error });
  }
  const inputName = session.inputNames[0];
  const outputName = session.outputNames[0];
  if (inputName === undefined || outputName === undefined) {
    await session.release();
    throw new Error("onnxruntime could not load the model: it has no input or no output");
  }
  const width = featureWidth(session);

  let released = false;
  return {
    async run(features, rows) {
      if (released) throw new Error("the ONNX session was released");
      if (!Number.isInteger(rows) || rows < 0) throw new Error(`rows must be a whole number, got ${rows}`);
      if (rows === 0) return new Float32Array(0);
      if (features.length % rows !== 0) throw new Error(`${features.length} features do not split into ${rows} rows`);
      const columns = features.length / rows;
      if (width !== undefined && columns !== width) throw new Error(`the model reads ${width} features per row, got ${columns}`);
      const input = new ort.Tensor("float32", features, [rows, columns]);
      const output = (await session.run({ [inputName]: input }))[outputName];
      if (!output || !(output.data instanceof Float32Array)) throw new Error(`the model's output ${outputName} is not a float tensor`);
      return output.data;
    },
    metadata() {
      return { ...metadata };
    },
    async release() {
      if (released) return;
      released = true;
      await session.release();
    },
  };
}

/** The fixed row width the model declares, when it declares one. */
function featureWidth(session: ort.InferenceSession): number | undefined {
  const input = session.inputMetadata[0];
  if (!input?.isTensor) return undefined;
  const width = input.shape[1];
  return typeof width === "number" ? width : undefined;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
