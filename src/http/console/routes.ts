// The web console's routes: the page, its script and styles, the embedded benchmark results.
//
//   GET /                  302 → /ui
//   GET /ui, /ui/          the page (a shell; the client draws every view: #/overview, #/topics, …)
//   GET /ui/app.js         the client (TypeScript in client/, bundled at build time)
//   GET /ui/app.css        its styles
//   GET /ui/bench.json     bench/results: Markdown reports by file name (embedded at build time)
//   GET /ui/bench/{file}   one of their SVG plots
//   GET /ui/metrics-history the Overview's graphs of the last minutes, kept by the broker from the
//                          first visit on (metrics-history.ts); the browser goes on from there
//
// Registered through the same Router as the API, so whatever guards the API (authentication when it
// comes) guards the console too; hidden from /openapi.json. Off with http.console.enable=false (404).
// Everything else the client shows comes from the public API (v3 routes, /metrics). Files are answered gzip-compressed when the browser accepts
// it, with an ETag (revalidated, never stale after an upgrade).

import type { Context } from "hono";
import { assert } from "../../util/assert.ts";
import { HttpError } from "../errors.ts";
import { documentResponse, type HttpDeps, type Router } from "../routing.ts";
import { MetricsHistory } from "./metrics-history.ts";

interface Asset {
  body: Uint8Array;
  gzipped: Uint8Array;
  contentType: string;
  etag: string;
}

type Assets = Map<string, Asset>;

const contentSecurityPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

function asset(text: string, contentType: string): Asset {
  const body = new TextEncoder().encode(text);
  return { body, gzipped: Bun.gzipSync(body, { level: 9 }), contentType, etag: `"${Bun.hash(body).toString(36)}"` };
}

/** The embedded files, made once (the first request imports them: from source, that bundles the client). */
async function loadAssets(): Promise<Assets> {
  const embedded = await import("./assets.ts");
  // The build inlined them (build-time.ts throws when bundling fails): an empty one is a build defect.
  assert(embedded.script.length > 0 && embedded.styles.length > 0, "the web console's script and styles are embedded");
  assert(embedded.page.includes('src="/ui/app.js"'), "the console page loads the embedded script");
  const assets: Assets = new Map([
    ["page", asset(embedded.page, "text/html; charset=utf-8")],
    ["app.js", asset(embedded.script, "text/javascript; charset=utf-8")],
    ["app.css", asset(embedded.styles, "text/css; charset=utf-8")],
  ]);
  const reports = Object.fromEntries(Object.entries(embedded.bench).filter(([name]) => name.endsWith(".md")));
  assets.set("bench.json", asset(JSON.stringify({ files: reports }), "application/json"));
  for (const [name, text] of Object.entries(embedded.bench)) {
    if (name.endsWith(".svg")) assets.set(`bench/${name}`, asset(text, "image/svg+xml"));
  }
  return assets;
}

function serve(c: Context, entry: Asset, extraHeaders: Record<string, string> = {}): Response {
  const headers: Record<string, string> = {
    "content-type": entry.contentType,
    "cache-control": "no-cache",
    etag: entry.etag,
    vary: "accept-encoding",
    "x-content-type-options": "nosniff",
    ...extraHeaders,
  };
  if (c.req.header("if-none-match") === entry.etag) return new Response(null, { status: 304, headers });
  const gzip = /\bgzip\b/.test(c.req.header("accept-encoding") ?? "");
  if (gzip) headers["content-encoding"] = "gzip";
  return new Response(gzip ? entry.gzipped : entry.body, { headers });
}

/** The broker-kept history: a point every 5 s, for 5 minutes (as far back as the browser's graphs go). */
const historyIntervalMs = 5000;
const historyKeepMs = 5 * 60 * 1000;

export function registerConsoleRoutes(router: Router, deps: HttpDeps): void {
  if (!deps.config["http.console.enable"]) return;
  let loading: Promise<Assets> | undefined;
  const history = new MetricsHistory({ render: () => deps.metrics.registry.render(), now: Date.now, intervalMs: historyIntervalMs, keepMs: historyKeepMs });
  deps.shutdownSignal.addEventListener("abort", () => history.stop());
  const assets = () => {
    history.start(); // someone opened the console: keep the last minutes from now on
    return (loading ??= loadAssets());
  };
  const pageHeaders = { "content-security-policy": contentSecurityPolicy, "x-frame-options": "DENY", "referrer-policy": "no-referrer" };
  const page = async (c: Context) => serve(c, (await assets()).get("page")!, pageHeaders);
  const spec = (path: string, summary: string) => ({ method: "GET" as const, path, tag: "Console", summary, hidden: true });

  router.add(spec("/", "Redirect to the web console."), () => new Response(null, { status: 302, headers: { location: "/ui" } }));
  router.add(spec("/ui", "The web console."), page);
  router.add(spec("/ui/", "The web console."), page);
  for (const name of ["app.js", "app.css", "bench.json"]) {
    router.add(spec(`/ui/${name}`, `The web console's ${name}.`), async (c) => serve(c, (await assets()).get(name)!));
  }
  router.add(spec("/ui/metrics-history", "The Overview's graphs of the last minutes (rates and p99s between samples)."), () => {
    history.start();
    return documentResponse({ interval_ms: historyIntervalMs, points: history.history() }, "json", 200, { "cache-control": "no-store" });
  });
  router.add(spec("/ui/bench/{file}", "A benchmark plot (SVG) of bench/results."), async (c) => {
    const entry = (await assets()).get(`bench/${c.req.param("file")}`);
    if (!entry) throw new HttpError(404, 404, `No benchmark plot '${c.req.param("file")}'.`);
    return serve(c, entry, { "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'" });
  });
}
