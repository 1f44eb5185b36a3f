/** Children h() takes: nodes, text, and nothing (false, null, undefined) for what a condition leaves out. */
export type Child = Node | string | number | false | null | undefined | Child[];

/**
 * An element with attributes (`on…` ones as listeners, `class`, `data-…`,
 * the rest as attributes or, for `value`, the property) and children.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, unknown> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      element.addEventListener(name.slice(2), value as EventListener);
    } else if (name === 'value') {
      (element as HTMLInputElement).value = String(value);
    } else {
      element.setAttribute(name, value === true ? '' : String(value));
    }
  }
  append(element, children);
  return element;
}

/** One of the console's views: its heading, a line on what it shows, and its content. */
export function view(name: string, title: string, lead: string, ...content: Child[]): HTMLElement {
  return h('section', { class: name }, h('h2', {}, title), h('p', { class: 'lead' }, lead), ...content);
}

/** An SVG element: the graph's nodes and edges. */
export function svg(tag: string, attributes: Record<string, string | number> = {}, ...children: Child[]): SVGElement {
  const element = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  append(element, children);
  return element;
}

function append(parent: Element, children: Child[]): void {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.append(child instanceof Node ? child : String(child));
  }
}

/** Milliseconds, as a person reads them: `0.84 ms`, `12.3 ms`, `1.20 s`. */
export function duration(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 10) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(2)} ms`;
}
