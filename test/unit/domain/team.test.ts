import { describe, expect, it } from "vitest";
import { NO_EXECUTIONS } from "../../../src/domain/evidence.js";
import { asTeam, teamKey, teamLabel } from "../../../src/domain/team.js";
import { agentSetKey } from "../../../src/store/execution-record.js";

describe("teamKey", () => {
  it("is the same for the same agents in any order, given once or twice", () => {
    expect(teamKey(["DEBUGGER", "ARCHITECT"])).toBe(teamKey(["ARCHITECT", "DEBUGGER", "ARCHITECT"]));
  });

  it("differs for teams that differ by one agent", () => {
    expect(teamKey(["ARCHITECT", "DEBUGGER"])).not.toBe(teamKey(["ARCHITECT", "DEBUGGER", "TESTER"]));
  });

  it("is the form the agent_set column holds and string_to_array(agent_set, ',') splits back", () => {
    expect(teamKey(["DEBUGGER", "ARCHITECT"])).toBe("ARCHITECT,DEBUGGER");
    expect(agentSetKey(["DEBUGGER", "ARCHITECT"])).toBe(teamKey(["DEBUGGER", "ARCHITECT"]));
    expect(teamKey(["DEBUGGER", "ARCHITECT"]).split(",")).toEqual(asTeam(["DEBUGGER", "ARCHITECT"]));
  });

  it("sorts keys as the teams' sorted names sort (the separator sorts below every name character)", () => {
    const teams = [["A-1"], ["A", "B"], ["A.B"], ["A0"], ["A_"], ["A"]];
    const byKey = [...teams].sort((x, y) => (teamKey(x) < teamKey(y) ? -1 : 1));
    const byNames = [...teams].sort((x, y) => {
      for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
      return x.length - y.length;
    });
    expect(byKey).toEqual(byNames);
  });
});

describe("teamLabel", () => {
  it("names a team as descriptions show it, in the order given", () => {
    expect(teamLabel(["DEBUGGER", "ARCHITECT"])).toBe("DEBUGGER+ARCHITECT");
  });
});

describe("NO_EXECUTIONS", () => {
  it("is all zeros and cannot be changed by one of its many holders", () => {
    expect(Object.values(NO_EXECUTIONS).every((v) => v === 0)).toBe(true);
    expect(() => {
      (NO_EXECUTIONS as { executions: number }).executions = 1;
    }).toThrow(TypeError);
  });
});
