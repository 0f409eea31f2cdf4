import { z } from "zod";
import type { FeatureMap } from "./features.js";
import type { TreeEnsemble } from "./tree-ensemble.js";

/** A stored feature map, validated when read back (it decides which column means what). */
export const FeatureMapSchema: z.ZodType<FeatureMap> = z.object({
  version: z.literal(1),
  taskTypes: z.array(z.string()),
  agents: z.array(z.string()),
  taskTypeRows: z.record(z.string(), z.number()),
});

const NodeSchema = z.union([
  z.object({
    kind: z.literal("split"),
    feature: z.number().int().min(0),
    threshold: z.number(),
    left: z.number().int(),
    right: z.number().int(),
  }),
  z.object({ kind: z.literal("leaf"), value: z.number() }),
]);

/** A stored ensemble, validated when read back for the quality gate's comparison. */
export const TreeEnsembleSchema: z.ZodType<TreeEnsemble> = z.object({
  objective: z.enum(["logistic", "squared"]),
  featureCount: z.number().int().min(0),
  baseScore: z.number(),
  trees: z.array(z.object({ nodes: z.array(NodeSchema) })),
});
