import { describe, expect, it } from "vitest";
import { createProgress, progressBar } from "../../../src/cli/progress.js";

function stream(isTTY: boolean) {
  const writes: string[] = [];
  return { isTTY, writes, write: (text: string) => writes.push(text) };
}

describe("progressBar", () => {
  it("fills the bar in proportion and shows the percentage and the counts", () => {
    expect(progressBar(5, 10, 10)).toBe("[█████░░░░░]  50% 5/10");
    expect(progressBar(10, 10, 4)).toBe("[████] 100% 10/10");
    expect(progressBar(0, 3, 3)).toBe("[░░░]   0% 0/3");
  });
});

describe("createProgress", () => {
  it("redraws in place on a terminal, at most every 80 ms, and always at the end", () => {
    const out = stream(true);
    let now = 0;
    const progress = createProgress("simulating", out, () => now);
    progress.update(1, 100);
    progress.update(2, 100); // within 80 ms: skipped
    now = 100;
    progress.update(3, 100);
    progress.update(100, 100); // completion is always drawn
    progress.finish();
    expect(out.writes.filter((w) => w.startsWith("\r")).map((w) => w.split(" ").at(-1))).toEqual(["1/100", "3/100", "100/100", "100/100"]);
    expect(out.writes.at(-1)).toBe("\n");
  });

  it("writes a single final line when the stream is not a terminal", () => {
    const out = stream(false);
    const progress = createProgress("simulating", out);
    for (let i = 1; i <= 50; i++) progress.update(i, 50);
    progress.finish();
    expect(out.writes).toEqual(["simulating: 50/50 done\n"]);
  });

  it("prints notes on their own line, clearing a drawn bar first", () => {
    const out = stream(true);
    const progress = createProgress("simulating", out, () => 0);
    progress.update(1, 2);
    progress.note("note: PredictAgents is unavailable");
    expect(out.writes.at(-1)).toBe("\r\x1b[2Knote: PredictAgents is unavailable\n");
    const plain = stream(false);
    createProgress("simulating", plain).note("note: x");
    expect(plain.writes).toEqual(["note: x\n"]);
  });
});
