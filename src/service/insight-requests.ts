import { z } from "zod";
import { InsightStatus, InsightType } from "../../gen/agentlearning/v1/learning_pb.js";
import type { InsightKind } from "../domain/insight.js";
import { insightKindOf } from "./insight-mapping.js";
import { finite, knownEnum, taskTypeSchema, text } from "./validation.js";

const types = z
  .array(knownEnum(InsightType, { allowUnspecified: false }))
  .max(16)
  .transform((list) => [...new Set(list.map((t) => insightKindOf(t) as InsightKind))]);
const taskTypes = z.array(taskTypeSchema).max(100);
const cursor = text(40).refine((s) => s === "" || /^\d{1,19}$/.test(s), {
  message: "must be a cursor returned by the service",
  params: { reason: "INVALID_CURSOR" },
});

/** StreamInsightsRequest, validated. */
export const streamInsightsSchema = z
  .object({
    types,
    taskTypes,
    minConfidence: finite(0, 1),
    afterCursor: cursor,
    fromBeginning: z.boolean(),
  })
  .transform((r) => ({
    filter: { types: r.types, taskTypes: r.taskTypes, minConfidence: r.minConfidence },
    after: r.afterCursor !== "" ? BigInt(r.afterCursor) : r.fromBeginning ? 0n : undefined,
  }));

/** Encodes the position after the last row of a page. */
export function encodePageToken(updatedAtUs: bigint, insightId: string): string {
  return Buffer.from(JSON.stringify([updatedAtUs.toString(), insightId])).toString("base64url");
}

const pageToken = text(512).transform((token, ctx) => {
  if (token === "") return undefined;
  try {
    const [us, id] = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as unknown[];
    // Bounded to PostgreSQL's timestamp range (year 9999) and to ids the service issues.
    if (
      typeof us === "string" &&
      /^\d{1,18}$/.test(us) &&
      BigInt(us) <= 253_402_300_799_999_999n &&
      typeof id === "string" &&
      /^ins_[0-9a-f]{1,64}$/.test(id)
    ) {
      return { updatedAtUs: BigInt(us), insightId: id };
    }
  } catch {
    // falls through to the issue below
  }
  ctx.addIssue({ code: "custom", message: "must be a next_page_token returned by the service", params: { reason: "INVALID_PAGE_TOKEN" } });
  return z.NEVER;
});

/** ListInsightsRequest, validated. */
export const listInsightsSchema = z
  .object({
    types,
    taskTypes,
    minConfidence: finite(0, 1),
    status: knownEnum(InsightStatus, { allowUnspecified: true }),
    pageSize: z.number().int().min(0).max(500, { message: "must be at most 500" }),
    pageToken,
  })
  .transform((r) => ({
    filter: {
      types: r.types,
      taskTypes: r.taskTypes,
      minConfidence: r.minConfidence,
      status: r.status === InsightStatus.RETIRED ? ("retired" as const) : ("active" as const),
    },
    pageSize: r.pageSize === 0 ? 50 : r.pageSize,
    after: r.pageToken,
  }));
