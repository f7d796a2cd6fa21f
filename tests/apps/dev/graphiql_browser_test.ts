// GraphiQL in a real browser, as a developer uses it: `deno task dev` started as its own
// process, Debian's chromium (headless, driven by playwright-core) opening the banner's
// GraphiQL URL with every request to another origin blocked, the banner's token pasted
// under Headers, a query run and a subscription followed. Screenshots go to .cache/ for
// people to look at. Skipped, with a line saying so, where /usr/bin/chromium is missing
// (.ci/run installs it).
import assert from "node:assert/strict";
import { chromium, type Page } from "playwright-core";
import { freePort } from "../../support/process.ts";
import { graphql, startDevTask } from "./dev_process.ts";

const CHROMIUM = "/usr/bin/chromium";
const haveChromium = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();
if (!haveChromium) {
  console.log(`skipped: the GraphiQL browser test needs ${CHROMIUM} (apt-get install chromium)`);
}

const SHOTS = new URL("../../../.cache/", import.meta.url).pathname;

// GraphiQL 3.8.3's editors are CodeMirror 5: each element holds its editor as `.CodeMirror`.
const QUERY_EDITOR = "section.graphiql-query-editor .CodeMirror";
const HEADERS_TAB = 'button[data-name="headers"]';
const HEADERS_EDITOR = "section.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror";
const REFETCH_SCHEMA = 'button[aria-label="Re-fetch GraphQL schema"]';
const RUN = "button.graphiql-execute-button";
const RESULT = ".graphiql-response .CodeMirror";

// Callbacks of page.evaluate run in the page: `document` is the page's, reached through
// globalThis as this file is checked without the DOM library.
// deno-lint-ignore no-explicit-any
type InPage = any;
const editorText = (page: Page, selector: string) =>
  page.evaluate(
    (s) => (globalThis as InPage).document.querySelector(s).CodeMirror.getValue() as string,
    selector,
  );

/** Replaces an editor's text as a user does: select all, then type. */
const typeInto = async (page: Page, selector: string, text: string) => {
  await page.locator(selector).click();
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Backspace");
  await page.keyboard.insertText(text);
  await page.keyboard.press("Escape"); // closes the completion list, if open
};

/**
 * Types the query and waits for GraphiQL's parse of it (debounced by 100 ms): Run picks
 * HTTP or WebSocket from that parse, so a subscription run earlier goes over HTTP.
 */
const typeQuery = async (page: Page, query: string) => {
  await typeInto(page, QUERY_EDITOR, query);
  await page.waitForFunction((s) => {
    const editor = (globalThis as InPage).document.querySelector(s).CodeMirror;
    return editor.documentAST?.loc?.source?.body === editor.getValue();
  }, QUERY_EDITOR);
};

/** Waits until the result pane shows JSON that `done` accepts; returns it. */
const result = async (page: Page, done: (json: unknown) => boolean) => {
  for (const until = Date.now() + 30_000; Date.now() < until;) {
    const text = await editorText(page, RESULT);
    try {
      const json = JSON.parse(text);
      if (done(json)) return json;
    } catch { /* still empty or streaming */ }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await page.screenshot({ path: `${SHOTS}graphiql_failed.png` });
  throw new Error(
    `the result pane never showed what was expected: ${await editorText(page, RESULT)}`,
  );
};

Deno.test({
  name: "GraphiQL from deno task dev runs a query and a subscription in headless chromium, offline",
  ignore: !haveChromium,
  fn: async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "graphiql_browser_" });
    const dev = await startDevTask({
      DATA_DIR: dataDir,
      PRODUCT_API_PORT: String(freePort()),
      WEBHOOKS_PORT: String(freePort()),
      KAFKA_CONSUMER_PORT: String(freePort()),
    });
    const token = dev.madeUp.PRODUCT_API_TOKEN!;
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    try {
      const { createPlan } = await graphql<{ createPlan: { id: string } }>(
        dev.graphql,
        token,
        `mutation { createPlan(input: { name: "Gold", description: "Made over HTTP" }) { id } }`,
      );
      await graphql(
        dev.graphql,
        token,
        `mutation { createPriceTier(input: { planId: "${createPlan.id}", unitAmount: 1500, currency: "usd", interval: MONTH }) { id } }`,
      );

      const page = await browser.newPage({ viewport: { width: 1400, height: 820 } });
      const origin = new URL(dev.graphql).origin;
      const elsewhere: string[] = [];
      const pageErrors: string[] = [];
      // Offline but for this origin: anything else is blocked and noted.
      await page.route("**/*", (route) => {
        const url = route.request().url();
        if (url.startsWith(origin) || url.startsWith("data:")) return route.continue();
        elsewhere.push(url);
        return route.abort("internetdisconnected");
      });
      page.on("pageerror", (error) => pageErrors.push(String(error)));
      // What the page's policy refused to load from elsewhere shows as a console error.
      page.on("console", (message) => {
        if (/Content Security Policy/.test(message.text())) elsewhere.push(message.text());
      });
      page.on("request", (request) => {
        const url = request.url();
        if (!url.startsWith(origin) && !url.startsWith(origin.replace(/^http/, "ws"))) {
          if (!url.startsWith("data:")) elsewhere.push(url);
        }
      });

      await page.goto(dev.graphql);
      await page.locator(QUERY_EDITOR).waitFor();
      // The banner's token, pasted under Headers; then the schema is fetched with it.
      await page.locator(HEADERS_TAB).click();
      await typeInto(page, HEADERS_EDITOR, `{"Authorization": "Bearer ${token}"}`);
      // GraphiQL takes the edited headers in after a moment: fetch the schema until it answers.
      for (let attempt = 1;; attempt++) {
        const [introspection] = await Promise.all([
          page.waitForResponse((r) => r.url() === dev.graphql && r.request().method() === "POST"),
          page.locator(REFETCH_SCHEMA).click(),
        ]);
        if (introspection.ok()) break;
        assert.ok(attempt < 20, `the schema is refused: ${introspection.status()}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }

      await typeQuery(
        page,
        [
          "{",
          "  plansConnection(first: 10) {",
          "    totalCount",
          "    edges {",
          "      node { name description priceTiers { unitAmount currency interval } }",
          "    }",
          "  }",
          "}",
        ].join("\n"),
      );
      await page.locator(RUN).click();
      const answer = await result(page, (json) => JSON.stringify(json).includes("plansConnection"));
      assert.deepEqual(answer, {
        data: {
          plansConnection: {
            totalCount: 1,
            edges: [{
              node: {
                name: "Gold",
                description: "Made over HTTP",
                priceTiers: [{ unitAmount: 1500, currency: "usd", interval: "MONTH" }],
              },
            }],
          },
        },
      });
      await Deno.mkdir(SHOTS, { recursive: true });
      await page.screenshot({ path: `${SHOTS}graphiql_query.png` });

      // The README's round trip: a subscription in GraphiQL, a plan made elsewhere.
      await typeQuery(
        page,
        "subscription {\n  onPlanUpdated { name stripeProductId syncStatus }\n}",
      );
      await page.locator(RUN).click();
      // The subscription starts on GraphiQL's own time, maybe after Silver was made and
      // linked: the plan is touched each second, whatever the pane shows, until a push shows.
      const { createPlan: silver } = await graphql<{ createPlan: { id: string } }>(
        dev.graphql,
        token,
        `mutation { createPlan(input: { name: "Silver" }) { id } }`,
      );
      let touching = true;
      const touches = (async () => {
        for (let n = 1; touching; n++) {
          await new Promise((resolve) => setTimeout(resolve, 1000));
          if (!touching) break;
          await graphql(
            dev.graphql,
            token,
            `mutation { updatePlan(input: { id: "${silver.id}", description: "touch ${n}" }) { id } }`,
          );
        }
      })();
      const linked = await result(page, (json) => {
        const plan = (json as { data?: { onPlanUpdated?: Record<string, unknown> } }).data
          ?.onPlanUpdated;
        return plan?.name === "Silver" && plan.stripeProductId !== null;
      }).finally(() => touching = false);
      await touches;
      assert.match(JSON.stringify(linked), /"syncStatus":"SYNCED"/);
      await page.screenshot({ path: `${SHOTS}graphiql_subscription.png` });

      assert.deepEqual(elsewhere, [], "nothing is loaded from another origin");
      assert.deepEqual(pageErrors, []);
    } finally {
      await browser.close();
      const status = await dev.stop();
      await Deno.remove(dataDir, { recursive: true });
      assert.equal(status.code, 0, dev.log.join("\n"));
    }
  },
});
