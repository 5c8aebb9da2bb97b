import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import {
  checkedTextSink,
  drainingSink,
  isClosedOutput,
  outputFailure,
} from "../../../src/cli/output/output_sink.ts";
import { ClosedOutputError, OutputError } from "../../../src/cli/errors.ts";
import { main } from "../../../src/cli/main.ts";

/** A writable whose buffer is full after `room` writes, and that can be failed or closed. */
class FakeWritable extends EventEmitter {
  written: string[] = [];
  destroyed = false;
  constructor(readonly room: number) {
    super();
  }
  write(chunk: string): boolean {
    this.written.push(chunk);
    return this.written.length < this.room;
  }
  fail(code: string): void {
    this.destroyed = true;
    this.emit("error", Object.assign(new Error(`write ${code}`), { code }));
    this.emit("close");
  }
}

/** A write that must be waiting (its promise). */
function waiting(written: Promise<void> | void): Promise<void> {
  assert.ok(written instanceof Promise, "the write did not wait");
  return written;
}

const epipe = () => Object.assign(new Error("write EPIPE"), { code: "EPIPE" });

describe("drainingSink()", () => {
  test("a reader that goes away while a write waits for drain rejects it with ClosedOutputError", async () => {
    const stream = new FakeWritable(1);
    const sink = drainingSink(stream);
    const pending = waiting(sink.write("a"));
    stream.fail("EPIPE");
    await assert.rejects(pending, ClosedOutputError);
    assert.throws(() => sink.write("b"), ClosedOutputError);
    assert.deepEqual(stream.written, ["a"]);
  });

  test("a failure between writes makes the next write throw, never wait", () => {
    const stream = new FakeWritable(100);
    const sink = drainingSink(stream);
    sink.write("a");
    stream.fail("EPIPE");
    assert.throws(() => sink.write("b"), ClosedOutputError);
  });

  test("a stream closed without an error while a write waits also ends it", async () => {
    const stream = new FakeWritable(1);
    const sink = drainingSink(stream);
    const pending = waiting(sink.write("a"));
    stream.destroyed = true;
    stream.emit("close");
    await assert.rejects(pending, ClosedOutputError);
  });

  test("another failure (a full disk) is an OutputError naming the file and the flag", async () => {
    const stream = new FakeWritable(1);
    const sink = drainingSink(stream, { name: "/dev/full", flag: "--output", what: "the rows" });
    const pending = waiting(sink.write("a"));
    stream.fail("ENOSPC");
    await assert.rejects(
      pending,
      (error: unknown) =>
        error instanceof OutputError &&
        error.message ===
          'Cannot write the rows as --output must name a writable file: current value is "/dev/full" (write ENOSPC)',
    );
  });

  test("drain resumes the writer and leaves no listener behind", async () => {
    const stream = new FakeWritable(1);
    const sink = drainingSink(stream);
    for (let i = 0; i < 50; i++) {
      const pending = waiting(sink.write(String(i)));
      stream.emit("drain");
      await pending;
    }
    assert.equal(stream.listenerCount("drain"), 0);
    assert.equal(stream.listenerCount("close"), 0);
    assert.equal(stream.listenerCount("error"), 1);
  });
});

describe("checkedTextSink()", () => {
  test("throws ClosedOutputError on the first write after the stream failed", () => {
    const stream = new FakeWritable(100);
    const sink = checkedTextSink(stream, "standard error");
    sink.write("a");
    stream.fail("EPIPE");
    assert.throws(() => sink.write("b"), ClosedOutputError);
    assert.deepEqual(stream.written, ["a"]);
  });
});

describe("outputFailure()", () => {
  test("tells a closed pipe from other failures, and escapes the path", () => {
    assert.ok(isClosedOutput(epipe()));
    assert.ok(isClosedOutput(Object.assign(new Error("x"), { name: "BrokenPipe" })));
    assert.ok(!isClosedOutput(Object.assign(new Error("x"), { code: "ENOSPC" })));
    const failure = outputFailure(Object.assign(new Error("bad"), { code: "EACCES" }), {
      name: "out\u001b[2J.csv",
      flag: "--output",
    });
    assert.ok(failure instanceof OutputError);
    assert.match(failure.message, /current value is "out\\u001b\[2J\.csv" \(bad\)$/);
  });
});

describe("main() with an output whose reader went away", () => {
  test("returns 141 and prints nothing, whichever output was closed", async () => {
    for (const closed of ["stdout", "stderr"] as const) {
      let err = "";
      const io = {
        stdout: {
          write: (): void => {
            if (closed === "stdout") throw new ClosedOutputError("standard output");
          },
        },
        stderr: {
          write: (text: string): void => {
            if (closed === "stderr") throw new ClosedOutputError("standard error");
            err += text;
          },
        },
        stdin: () => [new TextEncoder().encode("x,c\n1,2\n2,3\n3,5\n")],
        stderrIsTty: false,
      };
      const args = closed === "stdout"
        ? ["monitor", "-", "-c", "c", "--tol", "0"]
        : ["monitor", "-", "-c", "c", "--tol", "0", "--format", "ndjson"];
      assert.equal(await main(args, io), 141, closed);
      assert.equal(err, "", closed);
    }
  });
});
