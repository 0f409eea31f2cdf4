// Writes a TreeEnsemble as an ONNX model: an ai.onnx.ml TreeEnsembleRegressor node from a float
// tensor [batch, featureCount] to a float tensor [batch, 1], followed for the logistic objective
// by a Sigmoid, so the file's output is always `predictValue`. The file is self-describing: the
// caller's metadata (feature map, metrics, version) travels inside it as metadata_props, so a
// stored model never depends on anything kept beside it.
//
// Operator choice: onnxruntime 1.30 runs TreeEnsembleRegressor at ai.onnx.ml opsets 1 to 4 and
// rejects it as deprecated at opset 5, where the generic `TreeEnsemble` replaces it; a file that
// does not import ai.onnx.ml at all binds to the newest (5) and fails to load. We import
// ai.onnx.ml 3 (it added *_as_tensor attributes we do not need; plain float lists suffice) and
// the default domain at 17 for the Sigmoid below (onnxruntime 1.30 accepts 1–26 with IR ≤ 13).
//
// The logistic is a separate default-domain Sigmoid node, NOT the regressor's
// post_transform="LOGISTIC": onnxruntime silently ignores LOGISTIC on single-target tree
// ensembles and returns the raw score (microsoft/onnxruntime#26596, #24862; measured here on
// 1.30). NONE + Sigmoid means the same under the ONNX spec and is computed right everywhere.
import { create, toBinary } from "@bufbuild/protobuf";
import {
  type AttributeProto,
  AttributeProto_AttributeType,
  AttributeProtoSchema,
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  StringStringEntryProtoSchema,
  TensorShapeProto_DimensionSchema,
  TensorShapeProtoSchema,
  TypeProto_TensorSchema,
  TypeProtoSchema,
  type ValueInfoProto,
  ValueInfoProtoSchema,
} from "../../gen/onnx/onnx_pb.js";
import type { Tree, TreeEnsemble } from "./tree-ensemble.js";

/** IR version 8 (ONNX 1.10): old enough for every runtime we care about, new enough for opset 17. */
export const ONNX_IR_VERSION = 8n;
/** The ai.onnx.ml opset we bind TreeEnsembleRegressor to (onnxruntime accepts 1–4). */
export const ONNX_ML_OPSET = 3n;
/** The default-domain opset, for the Sigmoid that turns a log-odds into a probability. */
export const ONNX_DEFAULT_OPSET = 17n;
/** Written into producer_name so a file says where it came from. */
export const ONNX_PRODUCER = "agent-learning";

/** TensorProto.DataType FLOAT. */
const ELEM_FLOAT = 1;

/** How to export an ensemble; everything but metadata and version has a default. */
export interface OnnxExportOptions {
  /** Name of the graph input (default "features"). */
  inputName?: string;
  /** Name of the graph output (default "score"). */
  outputName?: string;
  /** Key/value pairs stored as the model's metadata_props. */
  metadata: Record<string, string>;
  /** ModelProto.model_version. */
  modelVersion: bigint | number;
  /** ModelProto.doc_string. */
  docString?: string;
}

/** The regressor's per-node and per-leaf attribute columns, in ONNX's parallel-array form. */
interface FlatTrees {
  treeIds: bigint[];
  nodeIds: bigint[];
  featureIds: bigint[];
  modes: string[];
  values: number[];
  trueIds: bigint[];
  falseIds: bigint[];
  targetTreeIds: bigint[];
  targetNodeIds: bigint[];
  targetWeights: number[];
}

/**
 * Serializes `ensemble` to ONNX bytes that onnxruntime scores like `predictValue` (to float32
 * rounding of the sum; `checkParity` is the proof for each file).
 */
export function exportOnnx(ensemble: TreeEnsemble, options: OnnxExportOptions): Uint8Array {
  const inputName = options.inputName ?? "features";
  const outputName = options.outputName ?? "score";
  if (inputName === outputName) throw new Error(`the input and output names must differ (both "${inputName}")`);
  const flat = flattenTrees(ensemble);

  const logistic = ensemble.objective === "logistic";
  // The raw score (a log-odds for "logistic") is internal to the graph when a Sigmoid follows.
  const rawName = logistic ? uniqueName(`${outputName}_raw`, [inputName, outputName]) : outputName;
  const trees = create(NodeProtoSchema, {
    name: "trees",
    opType: "TreeEnsembleRegressor",
    domain: "ai.onnx.ml",
    input: [inputName],
    output: [rawName],
    attribute: [
      intAttr("n_targets", 1n),
      stringAttr("aggregate_function", "SUM"),
      floatsAttr("base_values", [ensemble.baseScore]),
      // Never LOGISTIC: see the file comment; the Sigmoid node applies it.
      stringAttr("post_transform", "NONE"),
      intsAttr("nodes_treeids", flat.treeIds),
      intsAttr("nodes_nodeids", flat.nodeIds),
      intsAttr("nodes_featureids", flat.featureIds),
      stringsAttr("nodes_modes", flat.modes),
      floatsAttr("nodes_values", flat.values),
      intsAttr("nodes_truenodeids", flat.trueIds),
      intsAttr("nodes_falsenodeids", flat.falseIds),
      // NaN compares false, so it goes right, as in predictRaw.
      intsAttr(
        "nodes_missing_value_tracks_true",
        flat.treeIds.map(() => 0n),
      ),
      intsAttr("target_treeids", flat.targetTreeIds),
      intsAttr("target_nodeids", flat.targetNodeIds),
      intsAttr(
        "target_ids",
        flat.targetTreeIds.map(() => 0n),
      ),
      floatsAttr("target_weights", flat.targetWeights),
    ],
  });
  const nodes = [trees];
  if (logistic) {
    nodes.push(create(NodeProtoSchema, { name: "probability", opType: "Sigmoid", domain: "", input: [rawName], output: [outputName] }));
  }

  const model = create(ModelProtoSchema, {
    irVersion: ONNX_IR_VERSION,
    opsetImport: [
      create(OperatorSetIdProtoSchema, { domain: "", version: ONNX_DEFAULT_OPSET }),
      create(OperatorSetIdProtoSchema, { domain: "ai.onnx.ml", version: ONNX_ML_OPSET }),
    ],
    producerName: ONNX_PRODUCER,
    modelVersion: BigInt(options.modelVersion),
    // Proto2 writes whatever is set, even "": leave the field absent when there is nothing to say.
    ...(options.docString !== undefined && { docString: options.docString }),
    graph: create(GraphProtoSchema, {
      name: `${ensemble.objective}_trees`,
      node: nodes,
      input: [floatTensor(inputName, [ensemble.featureCount])],
      output: [floatTensor(outputName, [1])],
    }),
    metadataProps: Object.entries(options.metadata).map(([key, value]) => create(StringStringEntryProtoSchema, { key, value })),
  });
  return toBinary(ModelProtoSchema, model);
}

/**
 * Lays the trees out as ONNX's parallel arrays. A node's id is its index in its tree, so our
 * `left`/`right` indexes are the true/false ids as they are (true = x <= threshold = left).
 * Structural errors throw here, where the tree is still in view, rather than as an opaque
 * onnxruntime load failure later.
 */
function flattenTrees(ensemble: TreeEnsemble): FlatTrees {
  const flat: FlatTrees = {
    treeIds: [],
    nodeIds: [],
    featureIds: [],
    modes: [],
    values: [],
    trueIds: [],
    falseIds: [],
    targetTreeIds: [],
    targetNodeIds: [],
    targetWeights: [],
  };
  // A regressor with no nodes is rejected by onnxruntime; a single zero leaf means the same
  // thing (the score is the base score) and keeps a tree-less ensemble exportable.
  const trees: Tree[] = ensemble.trees.length > 0 ? ensemble.trees : [{ nodes: [{ kind: "leaf", value: 0 }] }];
  trees.forEach((tree, t) => {
    checkShape(tree, t);
    const treeId = BigInt(t);
    tree.nodes.forEach((node, n) => {
      flat.treeIds.push(treeId);
      flat.nodeIds.push(BigInt(n));
      if (node.kind === "split") {
        if (!Number.isInteger(node.feature) || node.feature < 0 || node.feature >= ensemble.featureCount) {
          throw new Error(`tree ${t} node ${n} splits on feature ${node.feature}, outside 0..${ensemble.featureCount - 1}`);
        }
        flat.featureIds.push(BigInt(node.feature));
        flat.modes.push("BRANCH_LEQ");
        flat.values.push(node.threshold);
        flat.trueIds.push(BigInt(node.left));
        flat.falseIds.push(BigInt(node.right));
      } else {
        flat.featureIds.push(0n);
        flat.modes.push("LEAF");
        flat.values.push(0);
        flat.trueIds.push(0n);
        flat.falseIds.push(0n);
        flat.targetTreeIds.push(treeId);
        flat.targetNodeIds.push(BigInt(n));
        flat.targetWeights.push(node.value);
      }
    });
  });
  return flat;
}

/**
 * Checks that a tree's nodes form one tree rooted at node 0: every child index is in range and
 * every node is reached exactly once. A broken tree is a trainer bug: a cycle would hang
 * `predictRaw` (onnxruntime only rejects a node pointing at itself, with a C++ error), and an
 * unreachable node, which onnxruntime 1.30 quietly ignores, means the tree is not what was meant.
 */
function checkShape(tree: Tree, t: number): void {
  if (tree.nodes.length === 0) throw new Error(`tree ${t} has no nodes`);
  const seen = new Uint8Array(tree.nodes.length);
  const stack = [0];
  let reached = 0;
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (!Number.isInteger(n) || n < 0 || n >= tree.nodes.length) throw new Error(`tree ${t} refers to node ${n}, which it does not have`);
    if (seen[n]) throw new Error(`tree ${t} reaches node ${n} twice (a cycle or a shared child)`);
    seen[n] = 1;
    reached++;
    const node = tree.nodes[n]!;
    if (node.kind === "split") stack.push(node.left, node.right);
  }
  if (reached !== tree.nodes.length) throw new Error(`tree ${t} has ${tree.nodes.length - reached} node(s) unreachable from its root`);
}

/** `name`, suffixed until it differs from every name in `taken`. */
function uniqueName(name: string, taken: string[]): string {
  let candidate = name;
  while (taken.includes(candidate)) candidate += "_";
  return candidate;
}

/** A graph input/output: float tensor [batch, ...dims] with a symbolic batch axis. */
function floatTensor(name: string, dims: number[]): ValueInfoProto {
  const dim = [
    create(TensorShapeProto_DimensionSchema, { value: { case: "dimParam", value: "batch" } }),
    ...dims.map((d) => create(TensorShapeProto_DimensionSchema, { value: { case: "dimValue", value: BigInt(d) } })),
  ];
  return create(ValueInfoProtoSchema, {
    name,
    type: create(TypeProtoSchema, {
      value: {
        case: "tensorType",
        value: create(TypeProto_TensorSchema, { elemType: ELEM_FLOAT, shape: create(TensorShapeProtoSchema, { dim }) }),
      },
    }),
  });
}

// Attribute builders: `type` must always be set (IR >= 2), and because the proto is proto2 an
// explicitly set zero (`i: 0n`) is still written.
const utf8 = new TextEncoder();

function intAttr(name: string, i: bigint): AttributeProto {
  return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INT, i });
}

function stringAttr(name: string, s: string): AttributeProto {
  return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.STRING, s: utf8.encode(s) });
}

function intsAttr(name: string, ints: bigint[]): AttributeProto {
  return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INTS, ints });
}

function floatsAttr(name: string, floats: number[]): AttributeProto {
  return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.FLOATS, floats });
}

function stringsAttr(name: string, strings: string[]): AttributeProto {
  return create(AttributeProtoSchema, {
    name,
    type: AttributeProto_AttributeType.STRINGS,
    strings: strings.map((s) => utf8.encode(s)),
  });
}
