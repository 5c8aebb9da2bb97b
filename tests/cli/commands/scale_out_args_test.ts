import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { main } from "../../../src/cli/main.ts";
import { parseMonitorArgs } from "../../../src/cli/commands/monitor_args.ts";
import { parsePublishArgs } from "../../../src/cli/commands/publish.ts";
import { parseWorkerArgs } from "../../../src/cli/commands/worker.ts";
import { freePort } from "../../_services.ts";

function memoryIo() {
  const io = {
    out: "",
    err: "",
    stdout: { write: (text: string) => void (io.out += text) },
    stderr: { write: (text: string) => void (io.err += text) },
    stdin: () => [],
    stderrIsTty: false,
  };
  return io;
}

const REDIS = ["--redis", "redis://127.0.0.1:6379"];
const NATS = ["--nats", "nats://127.0.0.1:4222"];

describe("scale-out command lines", () => {
  test("publish, worker and monitor --redis read their flags with the documented defaults", () => {
    const publish = parsePublishArgs(["data.csv", "-c", "age", ...REDIS, "--stream", "s"]);
    assert.deepEqual(
      [publish.idPrefix, publish.batchSize, publish.minRows, publish.dtype, publish.target],
      ["data.csv:", 100, 3, "float64", {
        engine: "redis",
        url: "redis://127.0.0.1:6379",
        stream: "s",
        retryForMs: 60_000,
      }],
    );
    const demo = parsePublishArgs(["--demo", ...NATS, "--stream", "w"]);
    assert.deepEqual([demo.batchSize, demo.confounds, demo.idPrefix], [
      30,
      ["date.cos"],
      "seattle-weather.csv:",
    ]);
    const worker = parseWorkerArgs([...REDIS, "--stream", "s", "--group", "g", "--name", "w1"]);
    assert.deepEqual(
      [worker.name, worker.batchesPerCommit, worker.claimIdle, worker.untilIdle, worker.logLength],
      ["w1", 1, 30, undefined, 1000],
    );
    const monitor = parseMonitorArgs([...REDIS, "--stream", "s", "--group", "g", "--window", "5"]);
    assert.deepEqual([monitor.input, monitor.confounds, monitor.interval, monitor.window], [
      undefined,
      [],
      1,
      5,
    ]);
  });

  test("refuses what does not fit the mode, naming the flag, the rule and the value", async () => {
    const cases: [string[], RegExp][] = [
      [["worker", "--stream", "s", "--group", "g"], /a server must be given with --redis/],
      [
        ["worker", "--nats", "redis://127.0.0.1:4222", "--stream", "s", "--group", "g"],
        /--nats must be a "nats:\/\/host:port" URL: current value is "redis:\/\/127.0.0.1:4222"/,
      ],
      [
        ["monitor", "--redis", "redis://127.0.0.1:1/x/y", "--stream", "s", "--group", "g"],
        /--redis must be a "redis:\/\/host:port" URL/,
      ],
      [
        ["worker", ...REDIS, ...NATS, "--stream", "s", "--group", "g"],
        /only one of --redis and --nats/,
      ],
      [["worker", ...REDIS, "--stream", "s"], /--group must name the group/],
      [["worker", ...REDIS, "--group", "g"], /--stream must name the stream/],
      [["worker", ...REDIS, "--stream", "s", "--group", "g", "extra"], /options only/],
      [
        ["worker", ...REDIS, "--stream", "s", "--group", "g", "--name", "a b"],
        /--name must be 1 to 128 characters/,
      ],
      [
        ["worker", ...NATS, "--stream", "s", "--group", "g", "--name", "w"],
        /--name must be absent \(JetStream workers share partitions, not names\)/,
      ],
      [
        ["worker", ...REDIS, "--stream", "s", "--group", "g", "--until-idle=-1"],
        /--until-idle must be a non-negative number of seconds: current value is "-1"/,
      ],
      [
        ["worker", ...NATS, "--stream", "a.b", "--group", "g"],
        /--stream with --nats must be made of/,
      ],
      [["monitor", ...REDIS, "--stream", "s"], /--group must name the group/],
      [["monitor", "x.csv", ...REDIS, "--stream", "s", "--group", "g"], /the input with --redis/],
      [
        ["monitor", ...REDIS, "--stream", "s", "--group", "g", "-b", "5"],
        /--batch-size must be absent \(the publisher cut the batches\): current value is 5/,
      ],
      [
        ["monitor", ...NATS, "--stream", "s", "--group", "g", "--decay", "0.9"],
        /--decay must be absent \(the JetStream adapter keeps no per-batch log; --redis has decay views\): current value is 0\.9/,
      ],
      [
        ["monitor", ...REDIS, "--stream", "s", "--group", "g", "--decay", "0.9", "-w", "3"],
        /--window and --decay must not both be given: current values are 3 and 0\.9/,
      ],
      [
        ["monitor", ...NATS, "--stream", "s", "--group", "g", "-w", "3"],
        /--window must be absent \(the JetStream adapter keeps no per-batch log/,
      ],
      [
        ["monitor", "x.csv", "-c", "a", "--group", "g"],
        /--group must be given with --redis or --nats only/,
      ],
      [["publish", "-c", "a", ...REDIS, "--stream", "s"], /an input must be given/],
      [["publish", "x.csv", ...REDIS, "--stream", "s"], /--confounds must name/],
      [["publish", "x.csv", "-c", "a", ...REDIS], /--stream must name the stream/],
      [
        ["publish", "x.csv", "-c", "a", ...REDIS, "--stream", "s", "--partitions", "2"],
        /--partitions must be absent with --redis/,
      ],
      [
        ["publish", "x.csv", "-c", "a", ...REDIS, "--stream", "s", "--dtype", "float16"],
        /--dtype must be "float64" or "float32"/,
      ],
    ];
    for (const [args, message] of cases) {
      const io = memoryIo();
      assert.equal(await main(args, io), 2, `${args.join(" ")}: ${io.err}`);
      assert.match(io.err, message, args.join(" "));
    }
  });

  test("a server that is not there is a clear error and exit 2, not a wait", async () => {
    const port = await freePort();
    for (
      const args of [
        ["worker", "--redis", `redis://127.0.0.1:${port}`, "--stream", "s", "--group", "g"],
        ["worker", "--nats", `nats://127.0.0.1:${port}`, "--stream", "s", "--group", "g"],
        ["monitor", "--redis", `redis://127.0.0.1:${port}`, "--stream", "s", "--group", "g"],
        ["publish", "--demo", "--nats", `nats://127.0.0.1:${port}`, "--stream", "s"],
      ]
    ) {
      const io = memoryIo();
      const started = Date.now();
      assert.equal(await main(args, io), 2, io.err);
      assert.match(
        io.err,
        new RegExp(`Cannot connect to [a-z]+://127\\.0\\.0\\.1:${port} as .* must answer there`),
      );
      assert.match(io.err, /ECONNREFUSED/);
      assert.ok(Date.now() - started < 5000, "no retries against a closed port");
    }
  });

  test("every scale-out command has its help", async () => {
    for (const command of ["publish", "worker"]) {
      const io = memoryIo();
      assert.equal(await main([command, "--help"], io), 0);
      assert.match(io.out, /--redis url/);
      assert.match(io.out, /--stream name/);
    }
    const io = memoryIo();
    assert.equal(await main(["monitor", "--help"], io), 0);
    assert.match(io.out, /With --redis or --nats it reads no file/);
    assert.match(io.out, /--until-idle s/);
  });
});
