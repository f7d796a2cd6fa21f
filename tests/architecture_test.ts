// The layers' import rules (DESIGN.md): domain/ imports only domain/ and no package;
// application/ never imports adapters/ or apps/; adapters/ never import apps/.
import assert from "node:assert/strict";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** After one of these (or at the start) a "/" starts a regular expression, not a division. */
const BEFORE_REGEX = /(?:^|[(,=:[!&|?{};+\-*%<>~^]|\breturn|\btypeof)\s*$/;

/**
 * The source with comments and regular expressions removed and each string or template
 * literal replaced by a numbered marker, so that import-like text in comments, strings or
 * patterns is never read as code. Line breaks are kept, for line numbers.
 */
const tokenize = (source: string): { code: string; strings: string[] } => {
  const strings: string[] = [];
  let code = "";
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    const next = source[i + 1];
    if (c === "/" && next === "/") {
      while (i < source.length && source[i] !== "\n") i++;
    } else if (c === "/" && next === "*") {
      const end = source.indexOf("*/", i + 2);
      const stop = end < 0 ? source.length : end + 2;
      code += source.slice(i, stop).replace(/[^\n]/g, " ");
      i = stop;
    } else if (c === '"' || c === "'" || c === "`") {
      let j = i + 1;
      while (j < source.length && source[j] !== c) j += source[j] === "\\" ? 2 : 1;
      const text = source.slice(i, j + 1);
      strings.push(text);
      code += `\uE000${strings.length - 1}\uE000` + "\n".repeat(text.split("\n").length - 1);
      i = j + 1;
    } else if (c === "/" && BEFORE_REGEX.test(code.slice(-20))) {
      let j = i + 1;
      for (let inClass = false; j < source.length && (inClass || source[j] !== "/"); j++) {
        if (source[j] === "\\") j++;
        else if (source[j] === "[") inClass = true;
        else if (source[j] === "]") inClass = false;
      }
      code += " ";
      i = j + 1;
    } else {
      code += c;
      i++;
    }
  }
  return { code, strings };
};

type Import = { specifier: string | null; line: number };

/**
 * Every module a source file refers to: import and export-from statements (type-only
 * included), side-effect imports and dynamic imports. A dynamic import of a computed
 * specifier has specifier null: it cannot be checked, so the rules treat it as a breach.
 */
const importsOf = (source: string): Import[] => {
  const { code, strings } = tokenize(source);
  const lineAt = (index: number) => code.slice(0, index).split("\n").length;
  const literal = (n: string) => {
    const text = strings[Number(n)]!;
    return text.startsWith("`") && text.includes("${") ? null : text.slice(1, -1);
  };
  const S = "\uE000(\\d+)\uE000";
  const statements = new RegExp(
    `(?<=^|[;}\\s])(?:(?:import|export)\\s[^;\uE000]*?\\bfrom|import)\\s*${S}`,
    "g",
  );
  const found: Import[] = [...code.matchAll(statements)].map((match) => ({
    specifier: literal(match[1]!),
    line: lineAt(match.index),
  }));
  for (const match of code.matchAll(/\bimport\s*\(\s*(?:\uE000(\d+)\uE000\s*[,)])?/g)) {
    found.push({
      specifier: match[1] === undefined ? null : literal(match[1]),
      line: lineAt(match.index),
    });
  }
  return found.sort((a, b) => a.line - b.line);
};

type Rule = {
  folder: string;
  /** Why an import of `target` (a path from the root, or a package) breaks the rule; null if fine. */
  breach(target: { path: string } | { package: string }): string | null;
};

/** The breaches of `rule` in one file, as "file:line: specifier: reason". */
const breaches = (rule: Rule, file: string, source: string): string[] =>
  importsOf(source).flatMap(({ specifier, line }) => {
    const where = `${file}:${line}`;
    if (specifier === null) return [`${where}: a dynamic import of a computed specifier`];
    const target = specifier.startsWith(".")
      ? { path: relative(ROOT, resolve(ROOT, dirname(file), specifier)) }
      : { package: specifier };
    const reason = rule.breach(target);
    return reason === null ? [] : [`${where}: ${specifier}: ${reason}`];
  });

const inside = (path: string, folder: string) => path === folder || path.startsWith(`${folder}/`);

const RULES: Rule[] = [
  {
    folder: "domain",
    breach: (target) =>
      "package" in target
        ? "the domain uses no package"
        : inside(target.path, "domain")
        ? null
        : "the domain imports only from domain/",
  },
  {
    folder: "application",
    breach: (target) =>
      "path" in target && (inside(target.path, "adapters") || inside(target.path, "apps"))
        ? "application/ never imports adapters/ or apps/"
        : null,
  },
  {
    folder: "adapters",
    breach: (target) =>
      "path" in target && inside(target.path, "apps") ? "adapters/ never import apps/" : null,
  },
];

const sourceFiles = function* (folder: string): Generator<string> {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(join(ROOT, folder))];
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const path = `${folder}/${entry.name}`;
    if (entry.isDirectory) yield* sourceFiles(path);
    else if (/\.(ts|tsx|mts|js|mjs)$/.test(entry.name)) yield path;
  }
};

for (const rule of RULES) {
  Deno.test(`${rule.folder}/ keeps to its import rule`, () => {
    const files = [...sourceFiles(rule.folder)];
    assert.ok(files.length > 0, `no sources in ${rule.folder}/: was the layer renamed?`);
    const found = files.flatMap((file) =>
      breaches(rule, file, Deno.readTextFileSync(join(ROOT, file)))
    );
    assert.deepEqual(found, [], `imports that break the layers:\n${found.join("\n")}`);
  });
}

// The checker itself: each of these must be caught, or the tests above prove nothing.
const [domain, application, adapters] = RULES as [Rule, Rule, Rule];

Deno.test("the import check catches every form of import that breaks a rule", () => {
  const source = `
    import { z } from "zod";
    import type { EventStore } from "../application/ports/event_store.ts";
    import {
      a,
      b,
    } from "npm:left-pad@1";
    export { c } from "node:fs";
    export * from "../adapters/eventstore/memory.ts";
    import "https://example.com/side_effect.ts";
    const later = await import("../apps/config.ts");
    const computed = await import(name);
    import { fine } from "./plan.ts";
    import { alsoFine } from "../domain/decider.ts";
  `;
  const found = breaches(domain, "domain/plan.ts", source).map((b) => b.split(": ")[1]);
  assert.deepEqual(found, [
    "zod",
    "../application/ports/event_store.ts",
    "npm:left-pad@1",
    "node:fs",
    "../adapters/eventstore/memory.ts",
    "https://example.com/side_effect.ts",
    "../apps/config.ts",
    "a dynamic import of a computed specifier",
  ]);
});

Deno.test("the import check reads application/ and adapters/ rules right", () => {
  const source = `
    import { z } from "zod";
    import { fold } from "../domain/decider.ts";
    import { memoryEventStore } from "../adapters/eventstore/memory.ts";
    export type { Config } from "../apps/config.ts";
    const m = await import("../adapters/bus/kafka.ts");
  `;
  assert.deepEqual(
    breaches(application, "application/outbound.ts", source).map((b) => b.split(": ")[1]),
    ["../adapters/eventstore/memory.ts", "../apps/config.ts", "../adapters/bus/kafka.ts"],
  );
  assert.deepEqual(
    breaches(adapters, "adapters/http/webhooks.ts", `import { x } from "../../apps/config.ts";`),
    ["adapters/http/webhooks.ts:1: ../../apps/config.ts: adapters/ never import apps/"],
  );
});

Deno.test("the import check ignores imports in comments and strings", () => {
  const source = `
    // import { z } from "zod";
    /* export * from "../adapters/x.ts"; */
    const text = "import { y } from 'zod'";
    const url = "https://example.com"; import { ok } from "./ok.ts";
  `;
  assert.deepEqual(breaches(domain, "domain/plan.ts", source), []);
});

Deno.test("the import check is not misled by regular expressions with quotes", () => {
  const source = `
    const quote = /["'\\/]/g;
    const url = /^https?:\\/\\/[^\\s/]+$/i; import { z } from "zod";
    const ratio = a / b / c; import "npm:x";
  `;
  assert.deepEqual(breaches(domain, "domain/plan.ts", source).map((b) => b.split(": ")[1]), [
    "zod",
    "npm:x",
  ]);
});
