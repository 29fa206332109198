// Clients for the HTTP API tests: curl (HTTP/1.1 and HTTP/2 prior knowledge), node:http2 and
// fetch, each returning status, protocol and body, against a real broker process.

import { connect, type ClientHttp2Session } from "node:http2";
import { run } from "../helpers/broker.ts";

export interface HttpAnswer {
  status: number;
  /** "1.1" or "2" (curl and node:http2 say which protocol was used). */
  version: string;
  body: Uint8Array;
  text: string;
  headers: Record<string, string>;
  json<T = any>(): T;
}

function answer(status: number, version: string, body: Uint8Array, headers: Record<string, string> = {}): HttpAnswer {
  const text = new TextDecoder().decode(body);
  return { status, version, body, text, headers, json: () => JSON.parse(text) };
}

/** curl with `--http1.1` or `--http2-prior-knowledge`; the body may be bytes or text. */
export async function curl(
  protocol: "1.1" | "2",
  method: string,
  url: string,
  options: { body?: Uint8Array | string; headers?: Record<string, string>; extra?: string[] } = {},
): Promise<HttpAnswer> {
  const marker = "\n@@CURL@@";
  const args = ["curl", "-s", "-X", method, protocol === "2" ? "--http2-prior-knowledge" : "--http1.1", "-w", `${marker}%{http_code} %{http_version}`, ...(options.extra ?? [])];
  for (const [name, value] of Object.entries(options.headers ?? {})) args.push("-H", `${name}: ${value}`);
  if (options.body !== undefined) args.push("--data-binary", "@-");
  args.push(url);
  const { stdout } = await run(args, { stdin: options.body, timeoutMs: 30000 });
  const markerBytes = new TextEncoder().encode(marker);
  let at = stdout.length - markerBytes.length;
  for (; at >= 0; at--) if (markerBytes.every((byte, index) => stdout[at + index] === byte)) break;
  const tail = new TextDecoder().decode(stdout.subarray(at + markerBytes.length)).split(" ");
  return answer(Number(tail[0]), tail[1]!, stdout.subarray(0, at));
}

/** One request over a node:http2 session (h2c, or h2 over TLS when the URL is https). */
export function h2(session: ClientHttp2Session, method: string, path: string, options: { body?: Uint8Array | string; headers?: Record<string, string> } = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const request = session.request({ ":method": method, ":path": path, ...(options.headers ?? {}) });
    const chunks: Buffer[] = [];
    let status = 0;
    let headers: Record<string, string> = {};
    request.on("response", (received) => {
      status = Number(received[":status"]);
      headers = Object.fromEntries(Object.entries(received).map(([name, value]) => [name, String(value)]));
    });
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(answer(status, "2", new Uint8Array(Buffer.concat(chunks)), headers)));
    request.on("error", reject);
    if (options.body !== undefined) request.end(options.body);
    else request.end();
  });
}

export function h2Session(url: string, options: { ca?: string } = {}): ClientHttp2Session {
  const session = connect(url, options.ca ? { ca: options.ca } : {});
  session.on("error", () => {});
  return session;
}

export async function clusterIdOf(httpUrl: string): Promise<string> {
  const response = await fetch(`${httpUrl}/v3/clusters`);
  const body = (await response.json()) as { data: { cluster_id: string }[] };
  return body.data[0]!.cluster_id;
}

/** Poll `condition` (no fixed sleeps: each try is an event-loop turn apart) until it holds or `timeoutMs` passes. */
export async function eventually<T>(condition: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 10000, what = "condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ""}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
