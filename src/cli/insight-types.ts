import { InvalidArgumentError } from "commander";
import { InsightType } from "../../gen/agentlearning/v1/learning_pb.js";

/**
 * The insight types by their command-line names ("best_combo" for INSIGHT_TYPE_BEST_COMBO),
 * derived from the generated enum so a type added to the proto is accepted without touching
 * the CLI. UNSPECIFIED is not a type anything is published as, so it has no name here.
 */
export const INSIGHT_TYPE_NAMES: ReadonlyMap<string, InsightType> = new Map(
  Object.entries(InsightType)
    .filter((entry): entry is [string, InsightType] => typeof entry[1] === "number" && entry[1] !== InsightType.UNSPECIFIED)
    .map(([key, value]) => [key.toLowerCase(), value]),
);

/** The command-line name of an insight type, e.g. "avoid_pattern"; "type N" for one this build does not know. */
export function insightTypeName(type: InsightType): string {
  const key = InsightType[type] as string | undefined;
  return key === undefined ? `type ${type}` : key.toLowerCase();
}

/**
 * Parses `--type best_combo,avoid_pattern` into enum values; also accepts the proto's own
 * spelling (INSIGHT_TYPE_BEST_COMBO), in any case. An unknown name is a usage error that lists
 * the valid ones. Repeating the option adds to the list.
 */
export function parseInsightTypes(value: string, previous: readonly InsightType[] = []): InsightType[] {
  const types = [...previous];
  for (const raw of value.split(",")) {
    const name = raw
      .trim()
      .toLowerCase()
      .replace(/^insight_type_/, "");
    if (name === "") continue;
    const type = INSIGHT_TYPE_NAMES.get(name);
    if (type === undefined) {
      throw new InvalidArgumentError(
        `unknown insight type ${JSON.stringify(raw.trim())}; expected one of ${[...INSIGHT_TYPE_NAMES.keys()].join(", ")}`,
      );
    }
    if (!types.includes(type)) types.push(type);
  }
  if (types.length === 0) throw new InvalidArgumentError(`expected one or more of ${[...INSIGHT_TYPE_NAMES.keys()].join(", ")}`);
  return types;
}
