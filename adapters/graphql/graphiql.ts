/**
 * GraphiQL for a browser that opens /graphql. It loads from a CDN (pinned versions), so it
 * needs the browser to reach unpkg.com; queries go to this same URL, subscriptions to its
 * WebSocket twin. Mutations need the token: add {"Authorization": "Bearer …"} under Headers.
 * @module
 */

const page = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8" />
  <meta name="viewport" content="width=device-width, initial-scale=1" />
  <title>Nudges product API · GraphiQL</title>
  <style>body { margin: 0; height: 100vh; } #graphiql { height: 100vh; }</style>
  <link rel="stylesheet" href="https://unpkg.com/graphiql@3.8.3/graphiql.min.css" />
</head>
<body>
  <div id="graphiql">Loading GraphiQL from unpkg.com…</div>
  <script crossorigin src="https://unpkg.com/react@18.3.1/umd/react.production.min.js"></script>
  <script crossorigin src="https://unpkg.com/react-dom@18.3.1/umd/react-dom.production.min.js"></script>
  <script crossorigin src="https://unpkg.com/graphql-ws@5.16.0/umd/graphql-ws.min.js"></script>
  <script crossorigin src="https://unpkg.com/graphiql@3.8.3/graphiql.min.js"></script>
  <script>
    const url = location.origin + location.pathname;
    const fetcher = GraphiQL.createFetcher({
      url,
      wsClient: graphqlWs.createClient({ url: url.replace(/^http/, "ws") }),
    });
    ReactDOM.createRoot(document.getElementById("graphiql")).render(
      React.createElement(GraphiQL, {
        fetcher,
        defaultEditorToolsVisibility: true,
        defaultHeaders: '{"Authorization": "Bearer <PRODUCT_API_TOKEN>"}',
      }),
    );
  </script>
</body>
</html>
`;

/** True when a browser asks for a page (not a GraphQL client asking for JSON). */
export const wantsGraphiql = (request: Request, url: URL): boolean =>
  request.method === "GET" && !url.searchParams.has("query") &&
  (request.headers.get("accept") ?? "").includes("text/html");

export const graphiqlResponse = (): Response =>
  new Response(page, { headers: { "content-type": "text/html; charset=utf-8" } });
