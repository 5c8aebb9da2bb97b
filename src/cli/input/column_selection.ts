/**
 * Which columns of an input are monitored: the confounds and features asked
 * for, checked against the input's columns, or the features inferred from the
 * first rows.
 *
 * @module
 */

import { nameList, quoteInput } from "../output/safe_text.ts";
import { InputError } from "../errors.ts";
import { cellNumber, DATE_SUFFIXES } from "./_cell_values.ts";

/** Which columns to read. */
export interface ColumnSelection {
  /** Confound column names (may name derived date columns such as `date.cos`). */
  confounds: string[];
  /** Feature column names; every other numeric column when absent. */
  features?: string[] | undefined;
  /** A date column from which `<name>.cos`, `<name>.sin` and `<name>.days` are derived. */
  dateColumn?: string | undefined;
}

/** The resolved columns: names and how to read each. */
export interface ResolvedColumns {
  /** Feature names, in output order. */
  features: string[];
  /** Confound names, in output order. */
  confounds: string[];
}

/** A sampled row: its cell of each column. */
export interface CellSample {
  /** The cell of a column (undefined when the row has none). */
  get(column: string): unknown;
}

/**
 * Whether the sampled cells of a column are mostly numbers: a stray bad cell
 * must not hide a numeric column (it becomes a bad row instead), while a text
 * column with the odd number in it is still text.
 */
function isNumericColumn(samples: readonly CellSample[], column: string): boolean {
  let numeric = 0;
  let other = 0;
  for (const cells of samples) {
    const value = cellNumber(cells.get(column));
    if (value === undefined) continue;
    if (Number.isNaN(value)) other++;
    else numeric++;
  }
  return numeric > 0 && numeric >= other;
}

/** Each name given more than once, with the 1-based positions where it stands, in order of first repeat. */
function repeatedNames(names: readonly string[]): Map<string, number[]> {
  const positions = new Map<string, number[]>();
  names.forEach((name, i) => {
    const seen = positions.get(name);
    if (seen) seen.push(i + 1);
    else positions.set(name, [i + 1]);
  });
  return new Map([...positions].filter(([, at]) => at.length > 1));
}

/** `"x" at columns 1 and 3, "" at columns 4 and 5`, the first few repeats. */
function repeatList(repeats: Map<string, number[]>, unit: string): string {
  const shown = [...repeats].slice(0, 5).map(([name, at]) =>
    `${quoteInput(name, 40)} at ${unit} ${at.slice(0, -1).join(", ")} and ${at.at(-1)}`
  );
  return repeats.size > 5 ? `${shown.join(", ")} and ${repeats.size - 5} more` : shown.join(", ");
}

/**
 * Refuses an input whose columns repeat a name (two empty names included):
 * a cell is looked up by name, so one of the two would be read twice and the
 * other never.
 */
function checkUniqueHeader(available: readonly string[]): void {
  const repeats = repeatedNames(available);
  if (repeats.size === 0) return;
  throw new InputError(
    `Cannot read the columns of the input as their names must be unique (rename or drop the repeated columns): current value has ${
      repeatList(repeats, "columns")
    }`,
  );
}

/**
 * Refuses a column named twice among --features and --confounds (a feature
 * may not be a confound), for every input format.
 *
 * @param selection The flags' columns.
 * @throws {InputError} Naming the column and whether it was named twice or in both roles.
 *
 * @example A confound named twice
 * ```ts
 * import { checkUniqueSelection } from "./column_selection.ts";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => checkUniqueSelection({ confounds: ["age", "age"] }), /names "age" twice/);
 * ```
 */
export function checkUniqueSelection(
  selection: Pick<ColumnSelection, "features" | "confounds">,
): void {
  const chosen = [...(selection.features ?? []), ...selection.confounds];
  const repeats = repeatedNames(chosen);
  if (repeats.size === 0) return;
  const [name] = repeats.keys();
  const roles = (selection.features ?? []).includes(name!) && selection.confounds.includes(name!)
    ? "as both a feature and a confound"
    : "twice";
  throw new InputError(
    `Cannot select the columns as each must be named once among --features and --confounds: current value names ${
      quoteInput(name!, 40)
    } ${roles}`,
  );
}

/** Refuses a --date-column whose derived names are already columns of the input. */
function checkDerivedNames(
  date: string | undefined,
  derived: readonly string[],
  available: readonly string[],
): void {
  const taken = derived.filter((name) => available.includes(name));
  if (date === undefined || taken.length === 0) return;
  throw new InputError(
    `Cannot use --date-column ${
      quoteInput(date, 40)
    } as the columns it derives must not already be columns of the input: current value derives ${
      nameList(taken)
    }, which the input has`,
  );
}

/**
 * Resolves the monitored columns: checks the confounds and features asked for
 * against the input's columns (and those derived from --date-column), or
 * infers the features as every other column whose sampled cells are mostly
 * numbers.
 *
 * @param available The input's columns (the CSV header, or the keys of the first NDJSON objects).
 * @param samples The first usable rows.
 * @param selection The columns asked for.
 * @param looked How many rows were looked at (usable or not), for the message when none was usable.
 * @returns The feature and confound names, in output order.
 * @throws {InputError} If the input repeats a column name, a column is selected twice (or as
 *   both feature and confound), a derived date column shadows an input column, a named column
 *   does not exist, or no feature column is numeric.
 *
 * @example Inferring the features
 * ```ts
 * import { resolveColumns } from "./column_selection.ts";
 * import assert from "node:assert/strict";
 *
 * const row = new Map<string, unknown>([["a", "1"], ["name", "x"], ["c", "2"]]);
 * const columns = resolveColumns(["a", "name", "c"], [{ get: (column) => row.get(column) }], { confounds: ["c"] }, 1);
 * assert.deepEqual(columns, { features: ["a"], confounds: ["c"] });
 * ```
 */
export function resolveColumns(
  available: string[],
  samples: readonly CellSample[],
  selection: ColumnSelection,
  looked: number,
): ResolvedColumns {
  checkUniqueHeader(available);
  checkUniqueSelection(selection);
  const date = selection.dateColumn;
  if (date !== undefined && !available.includes(date)) {
    throw new InputError(
      `Cannot use --date-column as it must name a column of the input (${
        nameList(available)
      }): current value is ${quoteInput(date)}`,
    );
  }
  const derived = date === undefined ? [] : DATE_SUFFIXES.map((suffix) => `${date}.${suffix}`);
  checkDerivedNames(date, derived, available);
  const known = new Set([...available, ...derived]);
  for (const name of [...selection.confounds, ...(selection.features ?? [])]) {
    if (!known.has(name)) {
      throw new InputError(
        `Cannot select column ${quoteInput(name)} as columns must be among those of the input (${
          nameList([...known])
        }): current value is ${quoteInput(name)}`,
      );
    }
  }
  if (selection.features === undefined && samples.length === 0) {
    throw new InputError(
      `Cannot choose the feature columns as they are inferred from the first data rows (or named with --features): current value is ${
        looked === 0 ? "an input without data rows" : `${looked} data row(s), none usable`
      }`,
    );
  }
  const features = selection.features ??
    available.filter((name) =>
      name !== date && !selection.confounds.includes(name) && isNumericColumn(samples, name)
    );
  if (features.length === 0) {
    throw new InputError(
      `Cannot monitor the input as at least one feature column must be numeric: current value is none among ${
        nameList(available)
      }`,
    );
  }
  return { features, confounds: selection.confounds };
}
