import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { COMMANDS, helpText } from "../../../src/cli/command_line.ts";

describe("the help derived from the flag tables", () => {
  for (const [name, command] of Object.entries(COMMANDS)) {
    test(`lists every flag of ${name} with its alias, placeholder and default`, () => {
      const text = helpText(name as keyof typeof COMMANDS);
      for (const [flag, declared] of Object.entries(command.flags)) {
        const label = declared.kind === "boolean"
          ? (declared.negatable ? `--${flag} / --no-${flag}` : `--${flag}`)
          : `--${flag}${
            declared.short !== undefined ? `, -${declared.short}` : ""
          } ${declared.placeholder}`;
        assert.ok(text.includes(`  ${label}`), `${name}: ${label}`);
        if (
          declared.kind === "value" && declared.default !== undefined &&
          declared.defaultText === undefined
        ) {
          const shown = Array.isArray(declared.default)
            ? declared.default.join(",")
            : String(declared.default);
          assert.match(
            text.replace(/\s+/g, " "),
            new RegExp(`\\(default ${shown.replace(/\./g, "\\.")}\\)`),
            `${name}: --${flag}`,
          );
        }
      }
    });

    test(`keeps the help of ${name} within 80 columns`, () => {
      const text = helpText(name as keyof typeof COMMANDS);
      const long = text.split("\n").filter((line) =>
        line.length > 80 && !line.startsWith("batch-corr ")
      );
      assert.deepEqual(long, []);
    });
  }

  test("lists every command's usage in the program's help", () => {
    const text = helpText(undefined);
    for (const command of Object.values(COMMANDS)) {
      for (const [usage, summary] of command.synopses) {
        assert.match(
          text,
          new RegExp(`  ${usage.replace(/[|[\]]/g, "\\$&")} +${summary.replace(/[()]/g, "\\$&")}`),
        );
      }
    }
  });
});
