#!/usr/bin/env bun
/**
 * The `batch-corr` command: `deno run -A cli.ts <command>` or `bun cli.ts <command>`.
 * Commands: monitor, generate, export-onnx; `--help` for each.
 *
 * @module
 */

import process from "node:process";
import { main } from "./src/cli/main.ts";

process.exitCode = await main(process.argv.slice(2));
