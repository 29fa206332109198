// What every page gets: where to draw, the route's parameters, and a signal aborted when the user
// leaves the page (timers stop, streams close, late answers are dropped).

import { ApiError } from "./api.ts";
import { h } from "./dom.ts";

export interface PageContext {
  root: HTMLElement;
  /** Path segments after the page name: #/topics/orders → ["orders"]. */
  params: string[];
  query: URLSearchParams;
  signal: AbortSignal;
}

export type Page = (context: PageContext) => Promise<void> | void;

/** Run `task` now and every `intervalMs` until the page is left (never two at once). */
export function every(intervalMs: number, signal: AbortSignal, task: () => Promise<void> | void): void {
  let running = false;
  const tick = async () => {
    if (running || signal.aborted) return;
    running = true;
    try {
      await task();
    } finally {
      running = false;
    }
  };
  void tick();
  const timer = setInterval(() => void tick(), intervalMs);
  signal.addEventListener("abort", () => clearInterval(timer));
}

export function errorText(error: unknown): string {
  if (error instanceof ApiError) return `${error.message} (HTTP ${error.status})`;
  return String((error as Error)?.message ?? error);
}

export function heading(text: string, ...extra: (Node | string | null)[]): HTMLElement {
  return h("div", { class: "page-head" }, h("h1", { tabindex: "-1" }, text), ...extra);
}

/** #/path built from segments, each URI-encoded. */
export function route(...segments: (string | number)[]): string {
  return `#/${segments.map((segment) => encodeURIComponent(String(segment))).join("/")}`;
}
