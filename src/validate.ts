// One way to check what enters a process: a JSON schema, compiled once by ajv, whose problems name
// the field. REST bodies, agent.yml and agent-channel messages all pass through here; past this
// edge, code trusts its types.
import { Ajv, type ErrorObject } from 'ajv';

// verbose: a problem needs the value it is about and the schema that refused it (to list the
// known keys, say which values are allowed, and use a schema's `description` for patterns).
const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true, verbose: true });

/** One thing wrong with a document. `path` is dotted (`dataset.backend`); '' is the whole document. */
export interface Problem {
  readonly path: string;
  readonly message: string;
  /** The offending value, when the message does not already show it. */
  readonly value?: unknown;
}

export type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problems: readonly Problem[] };

export type Check<T> = (data: unknown) => Checked<T>;

/** Compile `schema` once; the returned function checks a parsed document against it. */
export function compileCheck<T>(schema: object): Check<T> {
  const validate = ajv.compile(schema);
  return (data) => {
    if (validate(data)) return { ok: true, value: data as T };
    return { ok: false, problems: problemsOf(validate.errors ?? []) };
  };
}

/** `path: message` for each problem, each once; `root` names the whole document. */
export function problemLines(problems: readonly Problem[], root = 'body'): string[] {
  return [...new Set(problems.map((p) => `${p.path === '' ? root : p.path}: ${p.message}`))];
}

function problemsOf(errors: readonly ErrorObject[]): Problem[] {
  const out: Problem[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    const p = problemOf(e);
    // Some keywords say the same thing twice (anyOf branches, repeated names): keep each once.
    if (p === undefined || seen.has(`${p.path}\0${p.message}`)) continue;
    seen.add(`${p.path}\0${p.message}`);
    out.push(p);
  }
  return out;
}

function pathOf(instancePath: string): string {
  return instancePath.split('/').slice(1).map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~')).join('.');
}

const join = (parent: string, key: string): string => (parent === '' ? key : `${parent}.${key}`);

function article(type: string): string {
  if (type === 'null') return 'null';
  return `${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type}`;
}

function problemOf(e: ErrorObject): Problem | undefined {
  const path = pathOf(e.instancePath);
  const value: unknown = e.data;
  const schema = (e.parentSchema ?? {}) as { properties?: Record<string, unknown>; description?: string };
  // A property name's own failure is reported again by its propertyNames wrapper, which names it.
  if (e.propertyName !== undefined) return undefined;
  switch (e.keyword) {
    case 'if':
      return undefined;
    case 'required':
      return { path: join(path, String(e.params['missingProperty'])), message: 'required key is missing' };
    case 'additionalProperties': {
      const known = Object.keys(schema.properties ?? {});
      const key = String(e.params['additionalProperty']);
      return { path: join(path, key), message: known.length ? `unknown key (known: ${known.join(', ')})` : 'unknown key' };
    }
    case 'type':
      return { path, value, message: `must be ${String(e.params['type']).split(',').map(article).join(' or ')}` };
    case 'enum': {
      const allowed = (e.params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v));
      const what = path.split('.').at(-1) || 'value';
      return { path, message: `unknown ${what} ${JSON.stringify(value)} (choose ${allowed.join(', ')})` };
    }
    case 'const':
      return { path, message: `must be ${JSON.stringify(e.params['allowedValue'])} (got ${JSON.stringify(value)})` };
    case 'minLength':
      return e.params['limit'] === 1 ? { path, value, message: 'must not be empty' } : { path, value, message: e.message ?? e.keyword };
    case 'pattern':
    case 'format':
      return { path, value, message: schema.description ? `must be ${schema.description}` : (e.message ?? e.keyword) };
    case 'minimum':
    case 'maximum': {
      const range = schema as { minimum?: number; maximum?: number; type?: unknown };
      if (range.minimum !== undefined && range.maximum !== undefined && range.type === 'integer') {
        return { path, value, message: `must be an integer from ${range.minimum} to ${range.maximum}` };
      }
      return { path, value, message: e.message ?? e.keyword };
    }
    case 'propertyNames':
      return { path, message: `property name '${String(e.params['propertyName'])}' is invalid` };
    default:
      return { path, value, message: e.message ?? e.keyword };
  }
}
