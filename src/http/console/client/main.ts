// The web console's client: a hash router over the pages (#/overview, #/topics/NAME, #/messages/NAME,
// #/groups/ID, #/bench/REPORT), the theme switch and the metrics sampler. Bundled at build time
// (../build-time.ts) and served at /ui/app.js; no framework, nothing fetched from elsewhere.

import { h, replace } from "./dom.ts";
import type { Page } from "./page.ts";
import { benchPage } from "./pages/bench.ts";
import { groupPage } from "./pages/group.ts";
import { groupsPage } from "./pages/groups.ts";
import { messagesPage } from "./pages/messages.ts";
import { overviewPage } from "./pages/overview.ts";
import { topicPage } from "./pages/topic.ts";
import { topicsPage } from "./pages/topics.ts";
import { sampler } from "./sampler.ts";

const pages: Record<string, { list: Page; item?: Page }> = {
  overview: { list: overviewPage },
  topics: { list: topicsPage, item: topicPage },
  messages: { list: messagesPage },
  groups: { list: groupsPage, item: groupPage },
  bench: { list: benchPage },
};

let leave: AbortController | null = null;

function parseHash(hash: string): { name: string; params: string[]; query: URLSearchParams } {
  const [path = "", search = ""] = hash.replace(/^#\/?/, "").split("?", 2);
  const [name = "overview", ...params] = path.split("/").filter((segment) => segment !== "").map((segment) => decodeURIComponent(segment));
  return { name, params, query: new URLSearchParams(search) };
}

async function navigate(): Promise<void> {
  if (location.hash !== "" && !location.hash.startsWith("#/")) return; // an in-page anchor, not a page
  const { name, params, query } = parseHash(location.hash);
  const entry = pages[name];
  leave?.abort();
  leave = new AbortController();
  const root = document.getElementById("main")!;
  for (const link of document.querySelectorAll<HTMLAnchorElement>("nav a[data-page]")) {
    if (link.dataset.page === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (!entry) {
    replace(root, h("h1", { tabindex: "-1" }, "Not found"), h("p", null, "No such page. ", h("a", { href: "#/overview" }, "Overview")));
    return;
  }
  const page = params.length > 0 && entry.item ? entry.item : entry.list;
  document.title = `${name[0]!.toUpperCase()}${name.slice(1)} · Runnel`;
  const fromNavigation = document.activeElement === document.body || document.activeElement?.closest("nav") !== null;
  // A page draws its heading before its first await: keyboard and screen-reader users land on it
  // now, not back at the top of the document — and never later, when they may have moved on.
  const drawing = page({ root, params, query, signal: leave.signal });
  if (fromNavigation) root.querySelector<HTMLElement>("h1")?.focus({ preventScroll: true });
  try {
    await drawing;
  } catch (error) {
    replace(root, h("h1", null, "Something went wrong"), h("p", { class: "status error" }, String((error as Error)?.message ?? error)));
  }
}

function setupTheme(): void {
  const button = document.getElementById("theme")!;
  const dark = () => (document.documentElement.dataset.theme ?? (matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light")) === "dark";
  const label = () => {
    button.textContent = dark() ? "Light theme" : "Dark theme";
    button.setAttribute("aria-label", `Switch to the ${dark() ? "light" : "dark"} theme`);
  };
  const stored = localStorage.getItem("runnel-theme");
  if (stored === "dark" || stored === "light") document.documentElement.dataset.theme = stored;
  label();
  button.addEventListener("click", () => {
    const next = dark() ? "light" : "dark";
    document.documentElement.dataset.theme = next;
    localStorage.setItem("runnel-theme", next);
    label();
  });
}

function setupSkipLink(): void {
  document.getElementById("skip")!.addEventListener("click", (event) => {
    event.preventDefault();
    document.getElementById("main")!.focus();
  });
}

function start(): void {
  setupTheme();
  setupSkipLink();
  sampler.start();
  window.addEventListener("hashchange", () => void navigate());
  if (location.hash === "") history.replaceState(null, "", "#/overview");
  void navigate();
}

start();
