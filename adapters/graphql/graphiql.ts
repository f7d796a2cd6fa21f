/**
 * GraphiQL for a browser that opens /graphql, served from the npm packages pinned in
 * deno.lock (no CDN: it works offline and under a strict Content-Security-Policy). The JSON
 * imports put the packages in the module graph, so `deno install` and `deno run` always
 * fetch them; their browser builds are read from the npm cache (needs --allow-read) once,
 * and served under versioned names that browsers may cache for good. Queries go to this
 * same URL, subscriptions to its WebSocket twin, both with the Headers editor's JSON: paste
 * {"Authorization": "Bearer <PRODUCT_API_TOKEN>"} there (over WebSocket GraphiQL's own
 * graphql-ws client sends it as the connection_init payload).
 * @module
 */
import graphiqlPackage from "graphiql/package.json" with { type: "json" };
import reactPackage from "react/package.json" with { type: "json" };
import reactDomPackage from "react-dom/package.json" with { type: "json" };

/** Where the page's scripts and styles are served (no token needed). */
export const GRAPHIQL_ASSETS_PATH = "/graphql/assets/";

const JS = "text/javascript; charset=utf-8";
const CSS = "text/css; charset=utf-8";

// React's and ReactDOM's `exports` hide umd/*: their package.json is the anchor.
const fromPackage = (name: string, path: string, type: string) => ({
  read: () => Deno.readFile(new URL(path, import.meta.resolve(`${name}/package.json`))),
  type,
});

// What the page runs once the libraries are loaded; a file rather than an inline script,
// so the page's policy allows scripts from this origin only.
const START = `const url = location.origin + location.pathname;
const fetcher = GraphiQL.createFetcher({ url, subscriptionUrl: url.replace(/^http/, "ws") });
ReactDOM.createRoot(document.getElementById("graphiql")).render(
  React.createElement(GraphiQL, {
    fetcher,
    defaultEditorToolsVisibility: true,
    defaultHeaders: '{"Authorization": "Bearer <PRODUCT_API_TOKEN>"}',
  }),
);
`;

const ASSETS: Record<string, { read: () => Promise<Uint8Array>; type: string }> = {
  [`react@${reactPackage.version}.js`]: fromPackage("react", "umd/react.production.min.js", JS),
  [`react-dom@${reactDomPackage.version}.js`]: fromPackage(
    "react-dom",
    "umd/react-dom.production.min.js",
    JS,
  ),
  [`graphiql@${graphiqlPackage.version}.js`]: fromPackage("graphiql", "graphiql.min.js", JS),
  [`graphiql@${graphiqlPackage.version}.css`]: fromPackage("graphiql", "graphiql.min.css", CSS),
  [`start@${graphiqlPackage.version}.js`]: {
    read: () => Promise.resolve(new TextEncoder().encode(START)),
    type: JS,
  },
};

const asset = (name: string) => `${GRAPHIQL_ASSETS_PATH}${name}`;

const page = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8" />
  <meta name="viewport" content="width=device-width, initial-scale=1" />
  <title>Nudges product API · GraphiQL</title>
  <link rel="icon" href="data:," />
  <style>body { margin: 0; height: 100vh; } #graphiql { height: 100vh; }</style>
  <link rel="stylesheet" href="${asset(`graphiql@${graphiqlPackage.version}.css`)}" />
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
  <script src="${asset(`react@${reactPackage.version}.js`)}"></script>
  <script src="${asset(`react-dom@${reactDomPackage.version}.js`)}"></script>
  <script src="${asset(`graphiql@${graphiqlPackage.version}.js`)}"></script>
  <script src="${asset(`start@${graphiqlPackage.version}.js`)}"></script>
</body>
</html>
`;

// Same origin only: the page needs nothing from anywhere else.
const POLICY = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
  "img-src 'self' data:; font-src 'self' data:; connect-src 'self'";

/** True when a browser asks for a page (not a GraphQL client asking for JSON). */
export const wantsGraphiql = (request: Request, url: URL): boolean =>
  request.method === "GET" && !url.searchParams.has("query") &&
  (request.headers.get("accept") ?? "").includes("text/html");

export const graphiqlResponse = (): Response =>
  new Response(page, {
    headers: { "content-type": "text/html; charset=utf-8", "content-security-policy": POLICY },
  });

const cache = new Map<string, Promise<Uint8Array>>();

/** One of the page's files, or null for a name it does not use. */
export const graphiqlAsset = async (name: string): Promise<Response | null> => {
  const found = ASSETS[name];
  if (!found) return null;
  let body = cache.get(name);
  if (!body) {
    cache.set(name, body = found.read());
    body.catch(() => cache.delete(name)); // a failed read is tried again next time
  }
  return new Response(await body as Uint8Array<ArrayBuffer>, {
    headers: {
      "content-type": found.type,
      "cache-control": "public, max-age=31536000, immutable",
    },
  });
};
