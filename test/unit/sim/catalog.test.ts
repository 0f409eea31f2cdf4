import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { CATALOG_AGENTS } from "../../../src/sim/catalog.js";

describe("the simulated catalog", () => {
  it("names exactly the agents the default-agents migration inserts, in its order", async () => {
    const sql = await readFile(new URL("../../../src/store/migrations/002_default_agents.sql", import.meta.url), "utf8");
    const names = [...sql.matchAll(/^\s*\('([^']+)',/gm)].map((match) => match[1]);
    expect(names).toHaveLength(40);
    expect(CATALOG_AGENTS).toEqual(names);
  });
});
