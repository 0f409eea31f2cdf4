import { describe, expect, it } from "vitest";
import { formatTable, truncate } from "../../../src/cli/table.js";

describe("formatTable", () => {
  it("aligns columns two spaces apart, numbers to the right, without trailing spaces", () => {
    const text = formatTable(
      [{ header: "agent" }, { header: "runs", align: "right" }, { header: "note" }],
      [
        ["WEB", "12", ""],
        ["APIDESIGNER", "3", "new"],
      ],
    );
    expect(text.split("\n")).toEqual(["agent        runs  note", "WEB            12", "APIDESIGNER     3  new"]);
  });

  it("indents every line", () => {
    expect(formatTable([{ header: "a" }], [["x"]], { indent: "  " })).toBe("  a\n  x");
  });

  it("cuts cells longer than the column's maxWidth with an ellipsis", () => {
    expect(formatTable([{ header: "team", maxWidth: 6 }], [["WEB+APIDESIGNER"]])).toBe("team\nWEB+A…");
  });

  it("shrinks the flex column so the table fits the width", () => {
    const text = formatTable(
      [{ header: "type" }, { header: "description", flex: true }],
      [["best_combo", "WEB+APIDESIGNER+TESTBED succeeds 93% of the time, against 61% for the task type"]],
      { width: 40 },
    );
    for (const line of text.split("\n")) expect([...line].length).toBeLessThanOrEqual(40);
    expect(text).toContain("…");
  });

  it("never shrinks the flex column below 10 characters", () => {
    const text = formatTable([{ header: "x".repeat(30) }, { header: "d", flex: true }], [["", "a long description here"]], { width: 20 });
    expect(text.split("\n")[1]).toBe(`${" ".repeat(30)}  a long de…`);
  });

  it("counts glyphs such as sparklines as one cell each", () => {
    expect(formatTable([{ header: "trend" }, { header: "n" }], [["▁▅█", "1"]])).toBe("trend  n\n▁▅█    1");
  });
});

describe("truncate", () => {
  it("leaves short text alone and marks a cut with an ellipsis", () => {
    expect(truncate("abc", 3)).toBe("abc");
    expect(truncate("abcdef", 4)).toBe("abc…");
  });
});
