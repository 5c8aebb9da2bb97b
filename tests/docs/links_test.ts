/**
 * README.md and docs/*.md have no dead relative links: every link and image points to a file
 * or folder of the repository, and every `#anchor` names a heading of the markdown file it
 * points to, with GitHub's slugs. docs/README.md indexes every page, and README.md stays a
 * front page.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, test } from "node:test";

const ROOT = resolve(fileURLToPath(new URL("../../", import.meta.url)));
/** The front page holds what a newcomer reads first; the manual lives in docs/. */
const README_MAX_BYTES = 12 * 1024;

/** A link found in a markdown file. */
interface Link {
  file: string;
  line: number;
  target: string;
}

/** README.md and every markdown file in docs/, as paths relative to the repository root. */
function markdownFiles(): string[] {
  const docs = readdirSync(join(ROOT, "docs")).filter((name) => name.endsWith(".md")).sort();
  return ["README.md", ...docs.map((name) => `docs/${name}`)];
}

/** Each line of the text, or null for the lines of fenced code blocks (fences included). */
function proseLines(text: string): (string | null)[] {
  let fence: string | null = null;
  return text.split("\n").map((line) => {
    if (fence === null) {
      const opening = /^ {0,3}(`{3,}|~{3,})/.exec(line);
      if (!opening) return line;
      fence = opening[1]!;
      return null;
    }
    const closing = /^ {0,3}(`{3,}|~{3,})\s*$/.exec(line);
    if (closing && closing[1]![0] === fence[0] && closing[1]!.length >= fence.length) fence = null;
    return null;
  });
}

/**
 * The text with fenced code blocks and inline code spans blanked out (newlines kept), so that
 * code which looks like a link or a heading is neither.
 */
function withoutCode(text: string): string {
  return proseLines(text)
    .map((line) =>
      line === null
        ? ""
        : line.replace(/(`+)(?:(?!\1)[\s\S])+?\1/g, (span) => " ".repeat(span.length))
    )
    .join("\n");
}

/** Inline links, images, reference definitions and HTML href/src attributes. */
function linksIn(file: string, text: string): Link[] {
  const links: Link[] = [];
  withoutCode(text).split("\n").forEach((line, index) => {
    const add = (target: string) => links.push({ file, line: index + 1, target });
    for (const match of line.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/g)) {
      add(match[1]!);
    }
    const definition = /^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/.exec(line);
    if (definition) add(definition[1]!);
    for (const match of line.matchAll(/\b(?:href|src)\s*=\s*"([^"]*)"/g)) add(match[1]!);
  });
  return links;
}

/**
 * GitHub's anchor for a heading (as github-slugger): the heading's text, lower-cased, without
 * punctuation and symbols (letters, marks, digits, `_`, `-` and spaces stay), spaces as hyphens.
 */
function slug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/`/g, "")
    .replace(/<[^>]+>/g, "");
  return text.toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, "").replace(/ /g, "-");
}

/** Every anchor a markdown text defines: its headings' slugs (repeats get -1, -2, …) and HTML ids. */
function anchorsIn(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of proseLines(text)) {
    if (line === null) continue;
    const heading = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line);
    if (heading) {
      const base = slug(heading[1]!);
      const count = seen.get(base) ?? 0;
      seen.set(base, count + 1);
      anchors.add(count === 0 ? base : `${base}-${count}`);
    }
    for (const match of line.matchAll(/<a\s+(?:id|name)\s*=\s*"([^"]+)"/g)) anchors.add(match[1]!);
  }
  return anchors;
}

/** Why a link is dead, or undefined when it resolves. */
function deadLinkReason(link: Link): string | undefined {
  if (link.target === "") return "an empty target";
  if (/^[a-z][a-z0-9+.-]*:/i.test(link.target) || link.target.startsWith("//")) return undefined; // not relative
  const hash = link.target.indexOf("#");
  const pathPart = decodeURIComponent(hash === -1 ? link.target : link.target.slice(0, hash));
  const anchor = hash === -1 ? undefined : decodeURIComponent(link.target.slice(hash + 1));
  const from = dirname(join(ROOT, link.file));
  const path = pathPart === ""
    ? join(ROOT, link.file)
    : pathPart.startsWith("/")
    ? join(ROOT, pathPart)
    : resolve(from, pathPart);
  if (path !== ROOT && !path.startsWith(ROOT + sep)) {
    return `${relative(ROOT, path)} is outside the repository`;
  }
  if (!existsSync(path)) return `${relative(ROOT, path) || "."} does not exist`;
  if (anchor === undefined) return undefined;
  if (!path.endsWith(".md")) {
    return `#${anchor} points into ${relative(ROOT, path)}, which is not markdown`;
  }
  const anchors = anchorsIn(readFileSync(path, "utf8"));
  return anchors.has(anchor)
    ? undefined
    : `${relative(ROOT, path)} has no heading with the anchor #${anchor}`;
}

describe("the markdown link checker", () => {
  test("slugs headings as GitHub does", () => {
    assert.equal(
      slug("Gradients for training: `valueAndGrad`"),
      "gradients-for-training-valueandgrad",
    );
    assert.equal(slug("F·M cap"), "fm-cap");
    assert.equal(slug("`grad_jax.json`"), "grad_jaxjson");
    assert.equal(slug("What it computes, and how precisely"), "what-it-computes-and-how-precisely");
    assert.equal(slug("[Streaming](streaming.md) — the API"), "streaming--the-api");
  });

  test("numbers repeated headings and ignores headings inside code blocks", () => {
    const anchors = anchorsIn("# A\n\n## Notes\n\n```sh\n# not a heading\n```\n\n## Notes\n");
    assert.deepEqual([...anchors].sort(), ["a", "notes", "notes-1"]);
  });

  test("finds links, images and definitions outside code, and none inside it", () => {
    const text = [
      'See [a](a.md#x) and ![b](img/b.png "title").',
      "`[not](a link)` and:",
      "```md",
      "[also not](inside.md)",
      "```",
      "[ref]: ../c.md",
    ].join("\n");
    assert.deepEqual(linksIn("docs/t.md", text).map((l) => [l.line, l.target]), [
      [1, "a.md#x"],
      [1, "img/b.png"],
      [6, "../c.md"],
    ]);
  });

  test("reports a missing file, a missing anchor and a path outside the repository", () => {
    assert.match(
      deadLinkReason({ file: "README.md", line: 1, target: "docs/nowhere.md" })!,
      /does not exist/,
    );
    assert.match(
      deadLinkReason({ file: "README.md", line: 1, target: "#no-such-heading" })!,
      /no heading/,
    );
    assert.match(
      deadLinkReason({ file: "docs/README.md", line: 1, target: "../../x" })!,
      /outside the repository/,
    );
    assert.equal(
      deadLinkReason({ file: "docs/README.md", line: 1, target: "https://example.org/a#b" }),
      undefined,
    );
  });
});

describe("README.md and docs/*.md", () => {
  const files = markdownFiles();

  test("every relative link and image resolves, and every #anchor names a heading of its target", () => {
    assert.ok(files.length >= 9, `expected README.md and the docs pages, found ${files}`);
    const dead: string[] = [];
    let checked = 0;
    for (const file of files) {
      for (const link of linksIn(file, readFileSync(join(ROOT, file), "utf8"))) {
        checked++;
        const reason = deadLinkReason(link);
        if (reason !== undefined) {
          dead.push(`${link.file}:${link.line}: (${link.target}) ${reason}`);
        }
      }
    }
    assert.ok(checked > 30, `only ${checked} links found: the extraction is broken`);
    assert.deepEqual(dead, [], `dead links:\n${dead.join("\n")}`);
  });

  test("docs/README.md links to every page in docs/", () => {
    const index = linksIn("docs/README.md", readFileSync(join(ROOT, "docs/README.md"), "utf8"));
    const linked = new Set(index.map((l) => l.target.split("#")[0]));
    const missing = files.filter((f) => f.startsWith("docs/") && f !== "docs/README.md")
      .map((f) => f.slice("docs/".length)).filter((page) => !linked.has(page));
    assert.deepEqual(missing, [], `docs/README.md does not link to ${missing.join(", ")}`);
  });

  test(`README.md stays a front page of at most ${README_MAX_BYTES / 1024} KiB (the manual belongs in docs/)`, () => {
    const size = readFileSync(join(ROOT, "README.md")).byteLength;
    assert.ok(
      size <= README_MAX_BYTES,
      `README.md is ${size} bytes; move detail into a page of docs/`,
    );
  });
});
