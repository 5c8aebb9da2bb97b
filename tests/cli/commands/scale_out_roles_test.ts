import { after, before, describe, test } from "node:test";
import process from "node:process";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readRedisCommitted } from "../../../src/redis/mod.ts";
import { readNatsCommitted } from "../../../src/nats/mod.ts";
import { openRedis } from "../../../src/redis/_client.ts";
import { natsService, redisService, type Service } from "../../_services.ts";
import {
  fileMonitor,
  maxDifference,
  records,
  runCli,
  startCli,
  uniqueName,
  waitUntil,
  writeCsv,
} from "./_scale_out_cli.ts";

const BATCH = 25;
const INPUT = ["--date-column", "day", "-c", "c0,day.cos", "-b", String(BATCH)];

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "batch-corr-scale-out-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** The group's final running view equals the file's: the exact count, r to 1e-12. */
// deno-lint-ignore no-explicit-any -- NDJSON records
function assertSameRunning(group: Record<string, any>, file: Record<string, any>): void {
  assert.equal(group.count, file.count, "every row counted exactly once");
  const difference = maxDifference(
    group.correlations.running.data,
    file.correlations.running.data,
  );
  assert.ok(difference <= 1e-12, `running correlations differ by ${difference}`);
  assert.ok(Math.abs(group.running.loss - file.running.loss) <= 1e-12);
  assert.ok(Math.abs(group.running.tol - file.running.tol) <= 1e-12);
}

interface EngineCase {
  name: "redis" | "nats";
  service: Service;
  committed(url: string, stream: string): Promise<{ batches: number }>;
}

const ENGINES: EngineCase[] = [
  {
    name: "redis",
    service: redisService,
    committed: (redis, stream) => readRedisCommitted({ redis, stream, group: "g" }),
  },
  {
    name: "nats",
    service: natsService,
    committed: (nats, stream) => readNatsCommitted({ nats, stream, group: "g" }),
  },
];

for (const engine of ENGINES) {
  const skip = engine.service.skip;
  const flag = `--${engine.name}`;
  const stream = () => uniqueName(engine.name).replace(/[.]/g, "_");

  describe(`batch-corr publish, worker and monitor ${flag}`, () => {
    test(
      "publish, two workers and monitor --until-idle give the running view of monitor <file>",
      { skip, timeout: 90_000 },
      async () => {
        const url = engine.service.url();
        const S = stream();
        const file = join(dir, `${S}.csv`);
        writeCsv(file, 16 * BATCH + 7, 41);
        const published = await runCli(["publish", file, ...INPUT, flag, url, "--stream", S]);
        assert.equal(published.code, 0, published.stderr);
        assert.match(published.stderr, /published 17 batches .*17 added, 0 already there/);
        const again = await runCli(["publish", file, ...INPUT, flag, url, "--stream", S]);
        assert.match(again.stderr, /0 added, 17 already there/, "a rerun adds nothing");
        const report = join(dir, `${S}.html`);
        const workers = [1, 2].map((i) =>
          startCli([
            "worker",
            flag,
            url,
            "--stream",
            S,
            "--group",
            "g",
            ...(engine.name === "redis" ? ["--name", `w${i}`] : []),
            "--until-idle",
            "1.5",
          ])
        );
        const monitor = startCli([
          "monitor",
          flag,
          url,
          "--stream",
          S,
          "--group",
          "g",
          "--until-idle",
          "1",
          "--interval",
          "0.1",
          "--format",
          "ndjson",
          "--correlations",
          "--report",
          report,
        ]);
        const ends = await Promise.all(workers.map((worker) => worker.done));
        for (const end of ends) assert.equal(end.code, 0, end.stderr);
        const folded = ends.map((end) => Number(/: (\d+) batches/.exec(end.stdout)?.[1]));
        assert.equal(folded[0]! + folded[1]!, 17, ends.map((end) => end.stdout).join(""));
        const seen = await monitor.done;
        assert.equal(seen.code, 0, seen.stderr);
        const group = records(seen.stdout);
        const file_ = await fileMonitor(file, [...INPUT, "--correlations"]);
        assertSameRunning(group.at(-1)!, file_.at(-1)!);
        assert.match(seen.stderr, /17 batches, 407 rows from .* group g/);
        const html = readFileSync(report, "utf8");
        assert.match(html, /f0/);
        assert.match(html, /c0/);
        // Each record names the last batch committed in it by its first line in the file.
        const lines = new Set(file_.map((record) => record.firstLine));
        for (const record of group) assert.ok(lines.has(record.firstLine), record.firstLine);
        assert.deepEqual(group.map((record) => record.index), group.map((_, i) => i));
      },
    );

    test(
      "a worker SIGKILLed mid-run loses nothing: another worker takes its batches over",
      { skip, timeout: 90_000 },
      async () => {
        const url = engine.service.url();
        const S = stream();
        const file = join(dir, `${S}.csv`);
        writeCsv(file, 120 * BATCH, 43);
        const published = await runCli(["publish", file, ...INPUT, flag, url, "--stream", S]);
        assert.equal(published.code, 0, published.stderr);
        const role = (name: string, extra: string[]) =>
          startCli([
            "worker",
            flag,
            url,
            "--stream",
            S,
            "--group",
            "g",
            ...(engine.name === "redis" ? ["--name", name] : []),
            "--claim-idle",
            "1",
            ...extra,
          ]);
        const victim = role("victim", []);
        await waitUntil(
          async () => (await engine.committed(url, S).catch(() => ({ batches: 0 }))).batches >= 5,
          "the victim's first commits",
        );
        victim.process.kill("SIGKILL");
        assert.equal((await victim.done).code, "SIGKILL");
        const before = (await engine.committed(url, S)).batches;
        assert.ok(before < 120, `the victim was killed mid-run (${before} of 120 committed)`);
        const survivor = await role("survivor", ["--until-idle", "2"]).done;
        assert.equal(survivor.code, 0, survivor.stderr);
        const group = await runCli([
          "monitor",
          flag,
          url,
          "--stream",
          S,
          "--group",
          "g",
          "--until-idle",
          "0",
          "--format",
          "ndjson",
          "--correlations",
        ]);
        assert.equal(group.code, 0, group.stderr);
        assertSameRunning(
          records(group.stdout).at(-1)!,
          (await fileMonitor(file, [...INPUT, "--correlations"])).at(-1)!,
        );
        assert.equal((await engine.committed(url, S)).batches, 120);
      },
    );

    test(
      "SIGTERM: the worker commits the batch in hand and exits 0",
      { skip, timeout: 90_000 },
      async () => {
        const url = engine.service.url();
        const S = stream();
        const file = join(dir, `${S}.csv`);
        writeCsv(file, 150 * BATCH, 47);
        const published = await runCli(["publish", file, ...INPUT, flag, url, "--stream", S]);
        assert.equal(published.code, 0, published.stderr);
        const worker = startCli([
          "worker",
          flag,
          url,
          "--stream",
          S,
          "--group",
          "g",
          ...(engine.name === "redis" ? ["--name", "termed"] : []),
        ]);
        const monitor = startCli(["monitor", flag, url, "--stream", S, "--group", "g"]);
        await waitUntil(
          async () => (await engine.committed(url, S).catch(() => ({ batches: 0 }))).batches >= 3,
          "the worker's first commits",
        );
        // By pid: Deno's ChildProcess reports a child it signalled itself as killed, whatever its exit code.
        process.kill(worker.process.pid!, "SIGTERM");
        const end = await worker.done;
        assert.equal(end.code, 0, `exit ${end.code}: ${end.stderr}${end.stdout}`);
        assert.match(end.stdout, /stopped \(SIGTERM\): (\d+) batches/);
        const batches = Number(/: (\d+) batches/.exec(end.stdout)![1]);
        assert.equal(
          (await engine.committed(url, S)).batches,
          batches,
          "all it folded is committed",
        );
        // The monitor, without --until-idle, stops at SIGTERM with the summary and exit 0.
        await waitUntil(
          () => Promise.resolve(monitor.stdout().trim().split("\n").length >= 2),
          "the monitor's first line",
        );
        process.kill(monitor.process.pid!, "SIGTERM");
        const seen = await monitor.done;
        assert.equal(seen.code, 0, `monitor exit ${seen.code}: ${seen.stderr} ${seen.stdout}`);
        assert.match(seen.stdout, /^\d+ batches, \d+ rows from .* group g; final running loss/m);
        if (engine.name === "redis") {
          const opened = await openRedis(url, "test");
          const pending = await opened.client.callBuffer(
            "XPENDING",
            S,
            "g",
            "-",
            "+",
            10,
            "termed",
          );
          await opened.close();
          assert.deepEqual(pending, [], "nothing left in hand");
        }
      },
    );
  });
}

describe("batch-corr monitor --redis --decay", () => {
  test(
    "with one worker (commit order is the file's), the group's decay view ends on monitor <file> --decay's",
    { skip: redisService.skip, timeout: 90_000 },
    async () => {
      const url = redisService.url();
      const S = uniqueName("decay").replace(/[.]/g, "_");
      const file = join(dir, `${S}.csv`);
      writeCsv(file, 9 * BATCH + 3, 43);
      const published = await runCli(["publish", file, ...INPUT, "--redis", url, "--stream", S]);
      assert.equal(published.code, 0, published.stderr);
      const target = ["--redis", url, "--stream", S, "--group", "g"];
      const worker = await runCli(["worker", ...target, "--name", "w", "--until-idle", "0.5"]);
      assert.equal(worker.code, 0, worker.stderr);
      const monitor = await runCli([
        "monitor",
        ...target,
        "--decay",
        "0.8",
        "--until-idle",
        "0.2",
        "--format",
        "ndjson",
        "--correlations",
      ]);
      assert.equal(monitor.code, 0, monitor.stderr);
      const group = records(monitor.stdout).at(-1)!;
      const alone = (await fileMonitor(file, [...INPUT, "--decay", "0.8", "--correlations"])).at(
        -1,
      )!;
      assertSameRunning(group, alone);
      assert.ok(Math.abs(group.window.loss - alone.window.loss) <= 1e-12);
      assert.ok(Math.abs(group.window.effectiveCount - alone.window.effectiveCount) <= 1e-9);
      const difference = maxDifference(
        group.correlations.window.data,
        alone.correlations.window.data,
      );
      assert.ok(difference <= 1e-12, `decay correlations differ by ${difference}`);
    },
  );
});

describe("batch-corr scale-out roles without a server", () => {
  test("a bad URL exits 2 naming the flag and the rule (more in scale_out_args_test.ts)", async () => {
    for (
      const [args, message] of [
        [
          ["worker", "--redis", "http://127.0.0.1:6379", "--stream", "s", "--group", "g"],
          /--redis must be a "redis:\/\/host:port" URL: current value is "http:\/\/127.0.0.1:6379"/,
        ],
        [
          ["publish", "x.csv", "-c", "a", "--redis", "redis://h:99999", "--stream", "s"],
          /--redis must be/,
        ],
      ] as [string[], RegExp][]
    ) {
      const result = await runCli(args);
      assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
      assert.match(result.stderr, message);
    }
  });
});
