// Building the page without a framework: h() makes an element from attributes and children. Text
// always goes in as text nodes, never as HTML, so record keys, values and topic names cannot inject
// markup.

export type Child = Node | string | number | bigint | null | undefined | false | Child[];
type AttributeValue = string | number | boolean | null | undefined | EventListener;
export type Attributes = Record<string, AttributeValue>;

function append(parent: Node, child: Child): void {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) {
    for (const item of child) append(parent, item);
    return;
  }
  parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
}

function setAttributes(element: Element, attributes: Attributes | null | undefined): void {
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") element.addEventListener(name.slice(2), value);
    else if (name === "value" && element instanceof HTMLInputElement) element.value = String(value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
}

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes?: Attributes | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  setAttributes(element, attributes);
  append(element, children);
  return element;
}

const svgNamespace = "http://www.w3.org/2000/svg";

export function svg(tag: string, attributes?: Attributes | null, ...children: Child[]): SVGElement {
  const element = document.createElementNS(svgNamespace, tag);
  setAttributes(element, attributes);
  append(element, children);
  return element;
}

/** Draw `children` in place of what `parent` held; a page heading that had the focus keeps it (in its new copy). */
export function replace(parent: Element, ...children: Child[]): void {
  const headingFocused = document.activeElement instanceof HTMLHeadingElement && parent.contains(document.activeElement);
  parent.replaceChildren();
  append(parent, children);
  if (headingFocused) parent.querySelector<HTMLElement>("h1")?.focus({ preventScroll: true });
}

export interface Column<Row> {
  label: string;
  cell: (row: Row) => Child;
  numeric?: boolean;
}

/** A table in a horizontally scrolling box (phones), with a caption for screen readers. */
export function dataTable<Row>(caption: string, columns: Column<Row>[], rows: Row[], empty = "Nothing to show."): HTMLElement {
  if (rows.length === 0) return h("p", { class: "muted" }, empty);
  return h("div", { class: "scroll" },
    h("table", null,
      h("caption", { class: "visually-hidden" }, caption),
      h("thead", null, h("tr", null, columns.map((column) => h("th", { scope: "col", class: column.numeric ? "num" : null }, column.label)))),
      h("tbody", null, rows.map((row) => h("tr", null, columns.map((column) => h("td", { class: column.numeric ? "num" : null }, column.cell(row))))))));
}

/** A labelled form control. */
export function field(label: string, control: HTMLElement, hint?: string): HTMLElement {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  return h("div", { class: "field" }, h("label", { for: id }, label), control, hint ? h("small", { class: "muted" }, hint) : null);
}

/** A message line for the result of an action (role=status: read out by screen readers). */
export function statusLine(): { element: HTMLElement; ok(text: string): void; error(text: string): void; clear(): void } {
  const element = h("p", { role: "status", class: "status" });
  return {
    element,
    ok(text) { element.className = "status ok"; element.textContent = text; },
    error(text) { element.className = "status error"; element.textContent = text; },
    clear() { element.className = "status"; element.textContent = ""; },
  };
}

/**
 * Ask before a change: a modal <dialog> (focus kept inside, Escape cancels) with the change spelled
 * out; resolves true only when the user presses the confirming button.
 */
export function confirmDialog(title: string, body: Child, confirmLabel: string, danger = false): Promise<boolean> {
  return new Promise((resolve) => {
    const cancel = h("button", { type: "button", class: "ghost", value: "cancel" }, "Cancel");
    const confirm = h("button", { type: "button", class: danger ? "danger" : "primary", value: "confirm" }, confirmLabel);
    const dialog = h("dialog", { "aria-labelledby": "dialog-title" }, h("h2", { id: "dialog-title" }, title), h("div", null, body), h("div", { class: "actions" }, cancel, confirm));
    let answer = false;
    cancel.addEventListener("click", () => dialog.close());
    confirm.addEventListener("click", () => { answer = true; dialog.close(); });
    dialog.addEventListener("close", () => { dialog.remove(); resolve(answer); });
    document.body.appendChild(dialog);
    dialog.showModal();
    cancel.focus();
  });
}
