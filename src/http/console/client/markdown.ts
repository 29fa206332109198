// Draws parsed Markdown (markdown-parse.ts) with text nodes only, never HTML: a report cannot
// inject markup.

import { h, type Child } from "./dom.ts";
import { parseInline, type Block } from "./markdown-parse.ts";

export { parseMarkdown } from "./markdown-parse.ts";

export interface RenderLinks {
  /** Where a relative link (another report, a plot) points; null: shown as text. */
  link(href: string): string | null;
  image(src: string): string | null;
}

function inline(text: string, links: RenderLinks): Child[] {
  return parseInline(text).map((span) => {
    if (span.kind === "code") return h("code", null, span.text);
    if (span.kind === "bold") return h("strong", null, span.text);
    if (span.kind === "link") {
      const href = links.link(span.href);
      return href === null ? span.text : h("a", { href }, span.text);
    }
    return span.text;
  });
}

export function renderMarkdown(blocks: Block[], links: RenderLinks): HTMLElement {
  const numeric = /^[\d.,×✓✗\s()–%-]+(?:\s*[✓✗])?$/;
  return h("div", { class: "report" }, blocks.map((block) => {
    switch (block.kind) {
      case "heading": {
        const level = Math.min(6, block.level + 1) as 2 | 3 | 4 | 5 | 6;
        return h(`h${level}`, null, inline(block.text, links));
      }
      case "paragraph": return h("p", null, inline(block.text, links));
      case "list": return h("ul", null, block.items.map((item) => h("li", null, inline(item, links))));
      case "image": {
        const src = links.image(block.src);
        return src === null ? null : h("img", { src, alt: block.alt, class: "plot", loading: "lazy" });
      }
      case "table": return h("div", { class: "scroll" }, h("table", null,
        h("thead", null, h("tr", null, block.header.map((cell) => h("th", { scope: "col" }, inline(cell, links))))),
        h("tbody", null, block.rows.map((row) => h("tr", null, row.map((cell) => h("td", { class: numeric.test(cell) ? "num" : null }, inline(cell, links))))))));
    }
  }));
}
