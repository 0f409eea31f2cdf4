import { type CommonQueryMethods, sql } from "slonik";
import { z } from "zod";
import { type LearningSettings, readSettings } from "./status.js";

/** The channel announcing a settings change to every replica. */
export const SETTINGS_CHANNEL = "agent_learning_settings";

const SettingsRow = z.object({
  learning_mode: z.enum(["observation", "advisory", "adaptive", "autonomous"]),
  learning_enabled: z.boolean(),
});

/** Changes the persisted learning mode and/or switch, and announces it to every replica. */
export async function updateSettings(
  db: CommonQueryMethods,
  change: { mode?: LearningSettings["learning_mode"]; learningEnabled?: boolean },
): Promise<LearningSettings> {
  if (change.mode === undefined && change.learningEnabled === undefined) return readSettings(db);
  const row = await db.one(sql.type(SettingsRow)`
    WITH updated AS (
      UPDATE service_settings SET
        learning_mode = coalesce(${change.mode ?? null}::text, learning_mode),
        learning_enabled = coalesce(${change.learningEnabled ?? null}::boolean, learning_enabled),
        updated_at = now()
      RETURNING learning_mode, learning_enabled
    )
    SELECT learning_mode, learning_enabled FROM updated, pg_notify(${SETTINGS_CHANNEL}, '')`);
  return row;
}
