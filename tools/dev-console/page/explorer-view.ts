import type { ApiView, CallResult, MethodView, ServiceView } from '../src/views.js';
import { duration, h, view } from './dom.js';
import { type Hint, hints, resolve, type Schema } from './hints.js';

/** Which method the explorer shows, and on which service. */
export interface Selection {
  service?: string;
  method?: string;
}

/**
 * The API explorer: every API under the services that serve it, and for the
 * chosen method its doc comment, a request form prefilled from the examples
 * with the schema's hints as you type, Send, and the answer.
 */
export function explorerView(
  apis: ApiView[],
  services: ServiceView[],
  selection: Selection,
  callers: string[],
  problem?: string,
): HTMLElement {
  const served = services.filter((service) => service.serves.length > 0);
  const service = served.find((candidate) => candidate.name === selection.service) ?? served[0];
  const apisOf = (name: string) => apis.filter((api) => api.servedBy.includes(name));
  const method =
    apisOf(service?.name ?? '')
      .flatMap((api) => api.methods)
      .find((candidate) => candidate.wireName === selection.method) ?? apisOf(service?.name ?? '')[0]?.methods[0];
  return view(
    'explorer',
    'API explorer',
    'Every method of the definitions, called on the running service that serves it. Hints follow the schema as you type; they never stop a request.',
    h(
      'div',
      { class: 'split' },
      h(
        'nav',
        { class: 'methods' },
        problem === undefined ? null : h('p', { class: 'field-error' }, problem),
        served.length === 0
          ? h('p', { class: 'empty' }, 'No service serves an API: add "serves" to a service.json.')
          : null,
        served.map((candidate) =>
          h(
            'div',
            { class: 'served-by' },
            h('h3', {}, candidate.name, ' ', h('span', { class: `health ${candidate.health}` }, candidate.health)),
            apisOf(candidate.name).map((api) =>
              h(
                'div',
                { class: 'api' },
                h('h4', { title: api.comment }, api.name),
                h(
                  'ul',
                  {},
                  api.methods.map((item) =>
                    h(
                      'li',
                      { class: candidate === service && item === method ? 'active' : '' },
                      h('a', { href: `#/explorer/${candidate.name}/${item.wireName}` }, item.name),
                    ),
                  ),
                ),
              ),
            ),
          ),
        ),
      ),
      service === undefined || method === undefined ? h('div', {}) : methodPanel(service, method, callers),
    ),
  );
}

interface FieldInput {
  name: string;
  schema: Schema;
  text: boolean;
  input: HTMLInputElement | HTMLTextAreaElement;
  hint: HTMLElement;
  error: HTMLElement;
  optional: boolean;
}

/**
 * One method's form. With `callers` (under `pnpm dev:cloud`), a choice of whom to call as: the
 * developer, or a service, whose call the front door admits only along an edge its manifest declares.
 */
function methodPanel(service: ServiceView, method: MethodView, callers: string[]): HTMLElement {
  const schema = method.request.schema;
  const defs = (schema.$defs ?? {}) as Record<string, Schema>;
  const properties = (schema.properties ?? {}) as Record<string, Schema>;
  const preview = h('pre', { class: 'body-preview' });
  const answer = h('div', { class: 'answer' });
  const callAs =
    callers.length === 0
      ? undefined
      : h(
          'select',
          { name: 'as' },
          h('option', { value: '' }, "you, the project's owner"),
          // Every service, the one called too: it does not call itself, so the front door refuses that.
          callers.map((caller) =>
            h(
              'option',
              { value: caller },
              `${caller}${service.calledBy.includes(caller) ? '' : ' (not a declared caller)'}`,
            ),
          ),
        );

  const fields: FieldInput[] = method.request.fields.map((field) => {
    const fieldSchema = resolve(properties[field.name] ?? {}, defs);
    const text = fieldSchema.type === 'string';
    const example = method.example?.[field.name];
    const value = example === undefined ? '' : text ? String(example) : JSON.stringify(example);
    const input = text
      ? h('input', { type: 'text', name: field.name, value, spellcheck: 'false', autocomplete: 'off' })
      : h('textarea', { name: field.name, rows: 2, spellcheck: 'false', value });
    return {
      name: field.name,
      schema: properties[field.name] ?? {},
      text,
      input,
      hint: h('div', { class: 'hint' }),
      error: h('div', { class: 'field-error' }),
      optional: field.optional,
    };
  });

  /**
   * The body as typed: each field's JSON text, unparsed, so a mistake is sent as it stands. An empty
   * optional field is left out; an empty required string is sent as "", for the service to refuse.
   */
  const blank = (field: FieldInput) => field.input.value.trim() === '' && (field.optional || !field.text);
  const body = () => {
    const parts = fields.flatMap((field) => {
      const raw = field.input.value;
      if (blank(field)) return [];
      return [`${JSON.stringify(field.name)}: ${field.text ? JSON.stringify(raw) : raw.trim()}`];
    });
    return parts.length === 0 ? '{}' : `{ ${parts.join(', ')} }`;
  };
  const refresh = () => {
    preview.textContent = body();
    for (const field of fields) {
      const raw = field.input.value;
      let found: Hint[];
      if (blank(field)) found = field.optional ? [] : [{ path: field.name, message: 'is required' }];
      else if (field.text) found = hints(raw, field.schema, defs, field.name);
      else {
        try {
          found = hints(JSON.parse(raw), field.schema, defs, field.name);
        } catch {
          found = [{ path: field.name, message: 'is not JSON yet' }];
        }
      }
      field.hint.textContent = found.map((hint) => `${hint.path} ${hint.message}`).join('; ');
    }
  };
  for (const field of fields) field.input.addEventListener('input', refresh);
  refresh();

  const send = async () => {
    for (const field of fields) field.error.textContent = '';
    answer.replaceChildren(h('p', { class: 'pending' }, 'Sending…'));
    const response = await fetch('/api/call', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        service: service.name,
        method: method.wireName,
        body: body(),
        ...(callAs === undefined || callAs.value === '' ? {} : { as: callAs.value }),
      }),
    });
    const result = (await response.json()) as CallResult & { error?: string };
    if (!response.ok) {
      answer.replaceChildren(
        h('p', { class: 'field-error' }, result.error ?? `the console answered ${response.status}`),
      );
      return;
    }
    answer.replaceChildren(resultView(result));
    // A validation error's details, each beside the field it is about.
    const details = (result.body as { details?: { path?: string; message?: string }[] } | null)?.details ?? [];
    for (const detail of details) {
      const top = String(detail.path ?? '').split(/[.[]/, 1)[0];
      const field = fields.find((candidate) => candidate.name === top);
      if (field !== undefined)
        field.error.textContent = [field.error.textContent, detail.message].filter(Boolean).join('; ');
    }
  };

  return h(
    'div',
    { class: 'method', 'data-method': method.wireName },
    h('h3', {}, method.wireName, method.idempotent ? h('span', { class: 'tag' }, 'idempotent') : null),
    h('p', { class: 'doc' }, method.comment),
    h('p', { class: 'route' }, h('code', {}, `POST ${service.url}/oto/${method.wireName}`), ` on ${service.name}`),
    h(
      'form',
      {
        class: 'request',
        onsubmit: (event: Event) => {
          event.preventDefault();
          void send();
        },
      },
      h('h4', {}, method.request.name, ' ', h('small', {}, method.request.comment)),
      fields.map((field) => {
        const info = method.request.fields.find((candidate) => candidate.name === field.name);
        return h(
          'div',
          { class: 'field', 'data-field': field.name },
          h(
            'label',
            {},
            h('code', {}, field.name),
            ' ',
            h('span', { class: 'type' }, info?.typeName ?? ''),
            ' ',
            h('span', { class: 'tag' }, field.optional ? 'optional' : 'required'),
          ),
          info?.comment ? h('p', { class: 'comment' }, info.comment) : null,
          field.input,
          field.hint,
          field.error,
        );
      }),
      h('details', {}, h('summary', {}, 'Body as sent'), preview),
      callAs === undefined ? null : h('label', { class: 'call-as' }, 'Call as ', callAs),
      h('button', { type: 'submit' }, 'Send'),
    ),
    answer,
  );
}

function resultView(result: CallResult): HTMLElement {
  if (result.error !== undefined) return h('div', { class: 'result failed' }, h('p', {}, result.error));
  const code = (result.body as { code?: unknown } | null)?.code;
  const ok = result.status >= 200 && result.status < 300;
  return h(
    'div',
    { class: `result ${ok ? 'ok' : 'failed'}` },
    h(
      'p',
      { class: 'status' },
      h('span', { class: 'badge' }, String(result.status)),
      typeof code === 'string' ? h('code', { class: 'code' }, code) : null,
      h('span', { class: 'timing' }, duration(result.duration)),
    ),
    h(
      'pre',
      { class: 'response' },
      typeof result.body === 'string' ? result.body : JSON.stringify(result.body, null, 2),
    ),
  );
}
