/**
 * The flags the scale-out roles share (`publish`, `worker`, and `monitor`
 * over a consumer group): which server, which stream and group, how long to
 * wait, each declared once; and the rules that tie them together.
 *
 * @module
 */

import { z } from "zod";
import { ruleMessage } from "../../core/errors.ts";
import { camelCase, valueFlag } from "../args/flag.ts";
import { numberWhere } from "../args/flag_schemas.ts";
import { UsageError } from "../errors.ts";

/** The help section of the scale-out flags. */
export const SCALE_OUT = "Scale-out (Redis Streams or NATS JetStream; see docs/scale_out.md)";

/** The engines a role can run on. */
export type Engine = "redis" | "nats";

const URL_RULES: Record<Engine, string> = {
  redis: 'a "redis://host:port" URL',
  nats: 'a "nats://host:port" URL',
};

/** Whether `url` is a URL of the engine with a host, a port in range and no path (a Redis db number aside). */
function engineUrl(engine: Engine, url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  const protocols = engine === "redis" ? ["redis:", "rediss:"] : ["nats:", "tls:"];
  if (!protocols.includes(parsed.protocol) || parsed.hostname === "") return false;
  if (parsed.search !== "" || parsed.hash !== "") return false;
  const path = parsed.pathname;
  const pathOk = path === "" || path === "/" || (engine === "redis" && /^\/\d{1,2}$/.test(path));
  // An unparsable port makes new URL throw; "" means the engine's default port.
  return pathOk && (parsed.port === "" || Number(parsed.port) > 0);
}

/**
 * A server URL of one engine, as a flag value.
 *
 * @param engine The engine.
 * @returns The schema: the URL as given, or the rule as the issue.
 */
export function engineUrlSchema(engine: Engine): z.ZodType<string, string> {
  return z.string().refine((url) => engineUrl(engine, url), { message: URL_RULES[engine] });
}

/** A number of seconds, ≥ 0, finite, at most about 24 days (a timer's range). */
export function seconds(rule = "a non-negative number of seconds"): z.ZodType<number, string> {
  return numberWhere(rule, (v) => Number.isFinite(v) && v >= 0 && v <= 2_000_000);
}

const NAME = z.string().refine((name) => /^[A-Za-z0-9._-]{1,64}$/.test(name), {
  message: "1 to 64 characters from A–Z a–z 0–9 . _ - (a Redis key or JetStream name part)",
});

/** --redis and --nats: the server of the run. */
export const ENGINE_FLAGS = {
  redis: valueFlag(engineUrlSchema("redis"), {
    section: SCALE_OUT,
    placeholder: "url",
    help: "Redis server (redis://host:port) with the batch stream",
  }),
  nats: valueFlag(engineUrlSchema("nats"), {
    section: SCALE_OUT,
    placeholder: "url",
    help: "or a NATS server with JetStream (nats://host:port)",
  }),
  stream: valueFlag(NAME, {
    section: SCALE_OUT,
    placeholder: "name",
    help: "the stream of batches (required with --redis or --nats)",
  }),
};

/** --group: the consumer group of workers and the aggregating monitor. */
export const GROUP_FLAG = {
  group: valueFlag(NAME, {
    section: SCALE_OUT,
    placeholder: "name",
    help: "the workers' group (required with --redis or --nats)",
  }),
};

/** --until-idle and --retry-for: how long a long-running role waits. */
export const WAIT_FLAGS = {
  "until-idle": valueFlag(seconds(), {
    section: SCALE_OUT,
    placeholder: "s",
    defaultText: "run until SIGINT or SIGTERM",
    help:
      "exit once every batch of the stream is committed and nothing new has arrived for s seconds",
  }),
  "retry-for": valueFlag(seconds(), {
    section: SCALE_OUT,
    placeholder: "s",
    default: 60,
    help: "keep retrying a server that stops answering for s seconds, then exit 2",
  }),
};

/** The scale-out flags of `monitor`. */
export const MONITOR_SCALE_OUT_FLAGS = {
  ...ENGINE_FLAGS,
  ...GROUP_FLAG,
  interval: valueFlag(
    numberWhere("a number of seconds in [0.01, 3600]", (v) => v >= 0.01 && v <= 3600),
    {
      section: SCALE_OUT,
      placeholder: "s",
      default: 1,
      help: "with --redis/--nats: read the committed state every s seconds",
    },
  ),
  ...WAIT_FLAGS,
};

/** The engine and server a command line names, checked: exactly one of --redis, --nats. */
export interface EngineChoice {
  /** The engine. */
  engine: Engine;
  /** Its URL. */
  url: string;
}

/**
 * The engine of a run: one of --redis and --nats, with --stream (and
 * --group where the command needs it).
 *
 * @param command The command, for messages.
 * @param given The checked flag values (undefined where absent).
 * @param needsGroup Whether --group is required.
 * @returns The engine and its URL.
 * @throws {UsageError} For neither or both of --redis and --nats, or a missing --stream or --group.
 */
export function engineOf(
  command: string,
  given: { redis?: string | undefined; nats?: string | undefined; [key: string]: unknown },
  needsGroup: boolean,
): EngineChoice {
  const context = `run ${command}`;
  if (given.redis !== undefined && given.nats !== undefined) {
    throw new UsageError(
      `Cannot ${context} as only one of --redis and --nats must be given: current values are ${given.redis} and ${given.nats}`,
    );
  }
  if (given.redis === undefined && given.nats === undefined) {
    throw new UsageError(
      `Cannot ${context} as a server must be given with --redis redis://host:port or --nats nats://host:port: current value is none`,
    );
  }
  for (const flag of needsGroup ? ["stream", "group"] : ["stream"]) {
    if (given[flag] === undefined) {
      throw new UsageError(
        `Cannot ${context} as --${flag} must name the ${flag} with --redis or --nats: current value is none`,
      );
    }
  }
  if (given.nats !== undefined) {
    for (const flag of ["stream", "group"]) {
      const value = given[flag];
      if (typeof value === "string" && !/^[A-Za-z0-9_-]+$/.test(value)) {
        throw new UsageError(
          ruleMessage(
            context,
            `--${flag} with --nats`,
            "made of A–Z a–z 0–9 _ - (JetStream names have no dots)",
            value,
          ),
        );
      }
    }
  }
  return given.redis !== undefined
    ? { engine: "redis", url: given.redis }
    : { engine: "nats", url: given.nats! };
}

/**
 * Refuses flags that have no meaning for a run: each one given is named with
 * why it does not apply.
 *
 * @param command The command, for messages ("monitor --redis").
 * @param given The checked flag values, keyed in camel case.
 * @param flags The flag names (without `--`) that must be absent, each with the reason.
 * @throws {UsageError} Naming the first such flag given and its value.
 */
export function refuseFlags(
  command: string,
  given: Readonly<Record<string, unknown>>,
  flags: Readonly<Record<string, string>>,
): void {
  for (const [flag, reason] of Object.entries(flags)) {
    const value = given[camelCase(flag)];
    if (value === undefined || value === false) continue;
    throw new UsageError(
      ruleMessage(
        `run ${command}`,
        `--${flag}`,
        `absent (${reason})`,
        Array.isArray(value) ? value.join(",") : value,
      ),
    );
  }
}

/** Flags of `monitor` that only make sense when it reads an input itself, and why. */
const INPUT_ONLY: Readonly<Record<string, string>> = {
  confounds: "the publisher chose the columns",
  features: "the publisher chose the columns",
  "date-column": "the publisher read the input",
  "input-format": "the publisher read the input",
  "on-bad-row": "the publisher read the input",
  demo: "publish --demo sends the demo data to the stream",
  "batch-size": "the publisher cut the batches",
  "max-columns": "the publisher read the input",
  "max-line-bytes": "the publisher read the input",
  provider: "the workers compute the batch moments",
};

/** Flags that need --redis or --nats. */
const SCALE_OUT_ONLY = ["stream", "group", "interval", "until-idle", "retry-for"];

/**
 * The rules of `monitor`'s scale-out mode: with --redis or --nats it takes no
 * input and none of the input flags, and needs --stream and --group; without,
 * the scale-out flags are refused.
 *
 * @param given The checked flag values, keyed in camel case.
 * @param input The input path given, if any.
 * @returns Whether the monitor aggregates a group.
 * @throws {UsageError} For a flag or input that does not fit the mode.
 */
export function checkMonitorScaleOut(
  given: Readonly<Record<string, unknown>>,
  input: string | undefined,
): boolean {
  if (given.redis === undefined && given.nats === undefined) {
    for (const flag of SCALE_OUT_ONLY) {
      const value = given[camelCase(flag)];
      if (value !== undefined) {
        throw new UsageError(
          ruleMessage("run monitor", `--${flag}`, "given with --redis or --nats only", value),
        );
      }
    }
    return false;
  }
  const { engine } = engineOf("monitor", given, true);
  if (input !== undefined) {
    throw new UsageError(
      ruleMessage(
        "run monitor",
        `the input with --${engine}`,
        "omitted (the monitor reads what the workers committed)",
        input,
      ),
    );
  }
  refuseFlags(`monitor --${engine}`, given, INPUT_ONLY);
  if (engine === "nats") {
    refuseFlags("monitor --nats", given, {
      window: "the JetStream adapter keeps no per-batch log; --redis has window views",
      decay: "the JetStream adapter keeps no per-batch log; --redis has decay views",
    });
  }
  return true;
}

/**
 * Whether the monitor aggregates a group (--redis or --nats). It lives here,
 * apart from the aggregating run, so that a file run does not load that run.
 *
 * @param args The monitor's options.
 * @returns True with --redis or --nats.
 */
export function isAggregating(args: { redis?: unknown; nats?: unknown }): boolean {
  return args.redis !== undefined || args.nats !== undefined;
}
