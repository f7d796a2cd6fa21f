// Import rules (docs/architecture.md): domain/ imports only domain/, no package; application/ never imports adapters/ or apps/; adapters/ never import apps/; a port (application/ports/) imports only domain/ and ports/ (node: built-ins aside, no package); application/shared/ imports domain/, ports/, shared/ and packages; a flow (any other application/<flow>/) imports domain/, ports/, shared/, its own folder, packages, and another flow only through application/<other>/mod.ts; no file lies directly in application/; every import is relative or a package, never an absolute path or file: URL.
import assert from "node:assert/strict";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
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

type Target = { path: string } | { package: string };

type Rule = {
  folder: string;
  /** Why `file` (a path from the root, inside the folder) may not be where it is; null if fine. */
  misplaced?(file: string): string | null;
  /** Why `file` may not import `target` (a path from the root, or a package); null if fine. */
  breach(target: Target, file: string): string | null;
};

const isRelative = (specifier: string) => /^\.\.?(\/|$)/.test(specifier);

/**
 * What `specifier` in `file` refers to: a repository path for a relative specifier, a
 * package for any other, or why it is refused whatever the layer: an absolute path or a
 * file: URL ties the code to one machine's folders, and a relative path may not leave
 * the repository.
 */
const targetOf = (file: string, specifier: string): Target | { refused: string } => {
  if (specifier.startsWith("/") || specifier.startsWith("\\") || /^file:/i.test(specifier)) {
    return { refused: "an absolute path or file: URL; import by a relative path" };
  }
  if (!isRelative(specifier)) return { package: specifier };
  const path = relative(ROOT, resolve(ROOT, dirname(file), specifier));
  return path === ".." || path.startsWith("../") || isAbsolute(path)
    ? { refused: "a path outside the repository" }
    : { path };
};

/** The breaches of `rule` in one file, as "file:line: specifier: reason" (or "file: reason"). */
const breaches = (rule: Rule, file: string, source: string): string[] => {
  const placement = rule.misplaced?.(file) ?? null;
  return [
    ...(placement === null ? [] : [`${file}: ${placement}`]),
    ...importsOf(source).flatMap(({ specifier, line }) => {
      const where = `${file}:${line}`;
      if (specifier === null) return [`${where}: a dynamic import of a computed specifier`];
      const target = targetOf(file, specifier);
      const reason = "refused" in target ? target.refused : rule.breach(target, file);
      return reason === null ? [] : [`${where}: ${specifier}: ${reason}`];
    }),
  ];
};

const inside = (path: string, folder: string) => path === folder || path.startsWith(`${folder}/`);

/** The folders of application/ every flow shares; each other folder is a flow. */
const PORTS = "application/ports";
const SHARED = "application/shared";

/** The folder of application/ that `path` lies in ("ports", "shared" or a flow), or null. */
const areaOf = (path: string): string | null => {
  const parts = path.split("/");
  return parts[0] === "application" && parts.length > 2 ? parts[1]! : null;
};

/** Why a file of application/`area` may not import `target`, by the rule of its folder. */
const applicationBreach = (area: string | null, target: Target): string | null => {
  if ("path" in target && (inside(target.path, "adapters") || inside(target.path, "apps"))) {
    return "application/ never imports adapters/ or apps/";
  }
  if (area === null) return null; // the file's place is the breach, reported once
  if (area === "ports") {
    if ("package" in target) {
      return target.package.startsWith("node:")
        ? null
        : "a port uses no package (node: built-ins aside)";
    }
    return inside(target.path, "domain") || inside(target.path, PORTS)
      ? null
      : "a port imports only domain/ and application/ports/";
  }
  if ("package" in target) return null;
  const { path } = target;
  const common = inside(path, "domain") || inside(path, PORTS) || inside(path, SHARED);
  if (area === "shared") {
    return common
      ? null
      : "application/shared/ imports only domain/, application/ports/ and application/shared/";
  }
  if (common || inside(path, `application/${area}`)) return null;
  const other = areaOf(path);
  if (other !== null) {
    return path === `application/${other}/mod.ts`
      ? null
      : `another flow is imported only through application/${other}/mod.ts`;
  }
  return "a flow imports only domain/, application/ports/, application/shared/, its own " +
    "folder and other flows' mod.ts";
};

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
    misplaced: (file) =>
      areaOf(file) === null
        ? "a file directly in application/: put it in ports/, shared/ or a flow folder"
        : null,
    breach: (target, file) => applicationBreach(areaOf(file), target),
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

/** The inbound logic: the Stripe objects' handlers, which the webhook endpoint and the outbox never need. */
const INBOUND_LOGIC = ["handlers.ts", "catalog.ts", "checkout.ts", "customers.ts"]
  .map((name) => `application/inbound/${name}`);

/**
 * Every repository file that `start` reaches through relative imports (type-only ones
 * included), each with the shortest chain of imports that reaches it.
 */
const reached = (
  start: string,
  read = (file: string) => Deno.readTextFileSync(join(ROOT, file)),
): Map<string, string[]> => {
  const chains = new Map([[start, [start]]]);
  for (const file of chains.keys()) { // a Map iterates over the keys added while iterating
    let source: string;
    try {
      source = read(file);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound && file !== start) continue; // deno check says
      throw error;
    }
    for (const { specifier } of importsOf(source)) {
      if (specifier === null || !isRelative(specifier)) continue;
      const path = relative(ROOT, resolve(ROOT, dirname(file), specifier));
      if (!chains.has(path)) chains.set(path, [...chains.get(file)!, path]);
    }
  }
  return chains;
};

/** The chains by which `start` reaches one of `forbidden`, as "a -> b -> c". */
const reachesAny = (
  start: string,
  forbidden: string[],
  read?: (file: string) => string,
): string[] =>
  [...reached(start, read)].filter(([file]) => forbidden.includes(file))
    .map(([, chain]) => chain.join(" -> "));

Deno.test("the webhook endpoint and the outbox load no inbound handler", () => {
  const found = ["adapters/http/webhooks.ts", "application/outbox/outbox.ts"]
    .flatMap((start) => reachesAny(start, INBOUND_LOGIC));
  assert.deepEqual(found, [], `imports that load the inbound logic:\n${found.join("\n")}`);
});

// The checker itself: each of these must be caught, or the tests above prove nothing.
const [domain, application, adapters] = RULES as [Rule, Rule, Rule];

/** The specifier and reason of each breach. */
const found = (rule: Rule, file: string, source: string) =>
  breaches(rule, file, source).map((b) => b.replace(/^[^:]*:\d+: /, ""));

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
    import { fold } from "../../domain/decider.ts";
    import { memoryEventStore } from "../../adapters/eventstore/memory.ts";
    export type { Config } from "../../apps/config.ts";
    const m = await import("../../adapters/bus/kafka.ts");
  `;
  assert.deepEqual(
    breaches(application, "application/outbound/handler.ts", source).map((b) => b.split(": ")[1]),
    [
      "../../adapters/eventstore/memory.ts",
      "../../apps/config.ts",
      "../../adapters/bus/kafka.ts",
    ],
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

Deno.test("the import check refuses absolute paths, file: URLs and paths out of the repository", () => {
  const source = `
    import { a } from "/work/main/domain/plan.ts";
    import { b } from "file:///work/main/domain/plan.ts";
    export * from "FILE:/work/main/domain/plan.ts";
    const c = await import("/etc/passwd");
    import { d } from "../../../elsewhere/plan.ts";
    import { fine } from "./decider.ts";
  `;
  const absolute = "an absolute path or file: URL; import by a relative path";
  const expected = [
    `/work/main/domain/plan.ts: ${absolute}`,
    `file:///work/main/domain/plan.ts: ${absolute}`,
    `FILE:/work/main/domain/plan.ts: ${absolute}`,
    `/etc/passwd: ${absolute}`,
    "../../../elsewhere/plan.ts: a path outside the repository",
  ];
  // In every layer, whatever that layer allows.
  assert.deepEqual(found(domain, "domain/plan.ts", source), expected);
  assert.deepEqual(found(application, "application/commands/x.ts", source), expected);
  assert.deepEqual(found(adapters, "adapters/http/x.ts", source), expected);
});

Deno.test("the import check keeps a port to domain/ and application/ports/", () => {
  const source = `
    import type { Plan } from "../../domain/plan.ts";
    import type { Clock } from "./clock.ts";
    import { createHash } from "node:crypto";
    import { handleCommand } from "../commands/product_commands.ts";
    import { sleep } from "../shared/sleep.ts";
    export type { Cause } from "../outbound/mod.ts";
    import { z } from "zod";
    import Stripe from "npm:stripe";
  `;
  assert.deepEqual(found(application, "application/ports/event_store.ts", source), [
    "../commands/product_commands.ts: a port imports only domain/ and application/ports/",
    "../shared/sleep.ts: a port imports only domain/ and application/ports/",
    "../outbound/mod.ts: a port imports only domain/ and application/ports/",
    "zod: a port uses no package (node: built-ins aside)",
    "npm:stripe: a port uses no package (node: built-ins aside)",
  ]);
});

Deno.test("the import check keeps application/shared/ out of the flows", () => {
  const source = `
    import { z } from "zod";
    import { fold } from "../../domain/decider.ts";
    import type { EventStore } from "../ports/event_store.ts";
    import { nameBasedId } from "./ids.ts";
    import { HANDLED } from "../inbound/handlers.ts";
    import { TOPICS } from "../outbox/mod.ts";
  `;
  const reason = "application/shared/ imports only domain/, application/ports/ and " +
    "application/shared/";
  assert.deepEqual(found(application, "application/shared/command_handler.ts", source), [
    `../inbound/handlers.ts: ${reason}`,
    `../outbox/mod.ts: ${reason}`,
  ]);
});

Deno.test("the import check lets a flow reach another flow only through its mod.ts", () => {
  const source = `
    import { z } from "zod";
    import { fold } from "../../domain/decider.ts";
    import type { Bus } from "../ports/bus.ts";
    import { handleCommand } from "../shared/command_handler.ts";
    import { outboundHandler } from "./handler.ts";
    import { deep } from "./parts/deep.ts";
    import { STRIPE_WEBHOOK_RECEIVED } from "../inbound/mod.ts";
    import { HANDLED_STRIPE_EVENT_TYPES } from "../inbound/handlers.ts";
    export * from "../replay/sub/mod.ts";
    import { loose } from "../loose.ts";
    import { helper } from "../../tests/support/clocks.ts";
  `;
  assert.deepEqual(found(application, "application/outbound/consumer.ts", source), [
    "../inbound/handlers.ts: another flow is imported only through application/inbound/mod.ts",
    "../replay/sub/mod.ts: another flow is imported only through application/replay/mod.ts",
    "../loose.ts: a flow imports only domain/, application/ports/, application/shared/, its " +
    "own folder and other flows' mod.ts",
    "../../tests/support/clocks.ts: a flow imports only domain/, application/ports/, " +
    "application/shared/, its own folder and other flows' mod.ts",
  ]);
  // A flow's own mod.ts is its own folder; a nested file of a flow belongs to that flow.
  assert.deepEqual(
    found(application, "application/replay/sub/deep.ts", `import { r } from "../rebuild.ts";`),
    [],
  );
});

Deno.test("the import check refuses a file directly in application/, imports or not", () => {
  assert.deepEqual(breaches(application, "application/outbound.ts", ""), [
    "application/outbound.ts: a file directly in application/: put it in ports/, shared/ or a " +
    "flow folder",
  ]);
  assert.deepEqual(
    found(application, "application/bus.ts", `import { x } from "../adapters/bus/kafka.ts";`)
      .slice(1),
    ["../adapters/bus/kafka.ts: application/ never imports adapters/ or apps/"],
  );
});

Deno.test("the load check finds the chain by which a file reaches a forbidden one", () => {
  const files: Record<string, string> = {
    "application/outbox/outbox.ts": `
      import type { Bus } from "../ports/bus.ts";
      import { RECEIVED } from "../inbound/webhook_record.ts";
      import { later } from "npm:x"; // packages are not followed
    `,
    "application/ports/bus.ts": ``,
    "application/inbound/webhook_record.ts": `export { HANDLED } from "./handlers.ts";`,
    "application/inbound/handlers.ts": `import { applyCheckout } from "./checkout.ts";`,
    "application/inbound/checkout.ts": `import { loop } from "./handlers.ts";`,
  };
  const read = (file: string) => {
    if (file in files) return files[file]!;
    throw new Deno.errors.NotFound(file);
  };
  assert.deepEqual(reachesAny("application/outbox/outbox.ts", INBOUND_LOGIC, read), [
    "application/outbox/outbox.ts -> application/inbound/webhook_record.ts -> " +
    "application/inbound/handlers.ts",
    "application/outbox/outbox.ts -> application/inbound/webhook_record.ts -> " +
    "application/inbound/handlers.ts -> application/inbound/checkout.ts",
  ]);
  assert.deepEqual(reachesAny("application/ports/bus.ts", INBOUND_LOGIC, read), []);
  assert.throws(() => reachesAny("application/outbox/gone.ts", INBOUND_LOGIC, read), {
    name: "NotFound",
  });
});
