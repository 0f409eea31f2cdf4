import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { BadRequestSchema } from "../../../gen/google/rpc/error_details_pb.js";
import { CliFailure, codeName, describeFailure, fileFailure } from "../../../src/cli/failure.js";

const ADDRESS = "http://localhost:50051";

describe("describeFailure", () => {
  it("says the service cannot be reached when the connection was refused", () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:50051"), { code: "ECONNREFUSED" });
    const error = new ConnectError("connect ECONNREFUSED", Code.Unavailable, undefined, undefined, refused);
    expect(describeFailure(error, ADDRESS).lines()).toEqual([`error: cannot reach agent-learning at ${ADDRESS}: is it running?`]);
  });

  it("passes on the server's own UNAVAILABLE with its message", () => {
    const error = new ConnectError("the database is unavailable; retry later", Code.Unavailable);
    expect(describeFailure(error, ADDRESS).lines()).toEqual(["error: UNAVAILABLE: the database is unavailable; retry later"]);
  });

  it("lists every field violation carried as a google.rpc.BadRequest detail", () => {
    const detail = create(BadRequestSchema, {
      fieldViolations: [
        { field: "task_type", description: "must be lower case" },
        { field: "complexity", description: "must be between 0 and 10" },
      ],
    });
    const error = new ConnectError("task_type: must be lower case (and 1 more)", Code.InvalidArgument, undefined, [
      { desc: BadRequestSchema, value: detail },
    ]);
    expect(describeFailure(error, ADDRESS).lines()).toEqual([
      "error: INVALID_ARGUMENT: task_type: must be lower case (and 1 more)",
      "  task_type: must be lower case",
      "  complexity: must be between 0 and 10",
    ]);
  });

  it("unwraps a failure of the CLI's own request stream", () => {
    const own = new CliFailure("cannot read data.jsonl: input/output error");
    expect(describeFailure(ConnectError.from(own), ADDRESS)).toBe(own);
  });
});

describe("codeName", () => {
  it("spells codes as the gRPC canonical names", () => {
    expect(codeName(Code.InvalidArgument)).toBe("INVALID_ARGUMENT");
    expect(codeName(Code.DeadlineExceeded)).toBe("DEADLINE_EXCEEDED");
  });
});

describe("fileFailure", () => {
  it("names the user's path and the reason without Node's wrapping", () => {
    const enoent = Object.assign(new Error("ENOENT: no such file or directory, open '/x/y.jsonl.partial-1'"), {
      code: "ENOENT",
      syscall: "open",
    });
    expect(fileFailure("write", "/x/y.jsonl", enoent).message).toBe("cannot write /x/y.jsonl: no such file or directory");
  });
});
