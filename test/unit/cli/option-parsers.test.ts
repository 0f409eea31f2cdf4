import { InvalidArgumentError } from "commander";
import { describe, expect, it } from "vitest";
import { integerIn, nameList, numberIn } from "../../../src/cli/option-parsers.js";

describe("option parsers", () => {
  it("integerIn accepts whole numbers in range and rejects the rest", () => {
    const count = integerIn(1, 20);
    expect(count("10")).toBe(10);
    for (const bad of ["0", "21", "2.5", "ten", "", " "]) expect(() => count(bad)).toThrow(InvalidArgumentError);
    expect(() => count("0")).toThrow("expected a whole number from 1 to 20");
  });

  it("numberIn accepts decimals such as a complexity of 2.0", () => {
    const complexity = numberIn(0, 10);
    expect(complexity("2.0")).toBe(2);
    expect(complexity("0")).toBe(0);
    expect(complexity("10")).toBe(10);
    for (const bad of ["-0.1", "10.5", "NaN", "Infinity", "two", ""]) expect(() => complexity(bad)).toThrow(InvalidArgumentError);
  });

  it("nameList splits on commas, trims, drops empty names, and adds to a repeated option", () => {
    expect(nameList(" WEB, TESTBED ,,")).toEqual(["WEB", "TESTBED"]);
    expect(nameList("LINTER", ["WEB"])).toEqual(["WEB", "LINTER"]);
    expect(() => nameList(" , ")).toThrow(InvalidArgumentError);
  });
});
