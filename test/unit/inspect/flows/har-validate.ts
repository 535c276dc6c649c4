import { createRequire } from 'node:module';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { FormatsPlugin } from 'ajv-formats';

// CommonJS, loaded with require: har-schema (the schema har-validator used) has no types, and
// ajv-formats' default export is not callable through NodeNext's ESM interop.
const require = createRequire(import.meta.url);
const harSchemas = require('har-schema') as Record<string, { $id: string }>;
const draft06 = require('ajv/dist/refs/json-schema-draft-06.json') as object;
const addFormats = require('ajv-formats') as FormatsPlugin;

function compile(): ValidateFunction {
  // har-schema declares draft-06; Ajv's default class is draft-07 and validates draft-06
  // schemas once the draft-06 meta-schema is added (ajv.js.org/json-schema.html#draft-06).
  // strictTypes is off because postData.params puts object keywords on an array type.
  const ajv = new Ajv({ allErrors: true, strictTypes: false, meta: true });
  ajv.addMetaSchema(draft06);
  addFormats(ajv); // date-time, uri, ipv4, ipv6 are used by the schema
  // Keywords the schema uses that no draft defines: "optional" and "unique" (page ids) are
  // notes; "min" was meant as "minimum" (time >= 0, timings >= -1): enforce it, not ignore it.
  ajv.addKeyword({ keyword: 'optional', schemaType: 'boolean' });
  ajv.addKeyword({ keyword: 'unique', schemaType: 'boolean' });
  ajv.addKeyword({ keyword: 'min', type: 'number', schemaType: 'number', validate: (min: number, data: number) => data >= min, errors: false });
  for (const schema of Object.values(harSchemas)) ajv.addSchema(schema);
  const validate = ajv.getSchema('har.json#');
  if (!validate) throw new Error('har-schema has no har.json#');
  return validate;
}

let validateHarSchema: ValidateFunction | undefined;

function describeErrors(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? e.keyword} ${JSON.stringify(e.params)}`);
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * What the schema cannot say but the spec does, and tools rely on: startedDateTime is an ISO
 * date, send/wait/receive are never negative (-1 is for the optional phases only), and time is
 * their sum; a base64 text really is base64.
 */
function specErrors(har: unknown): string[] {
  const errors: string[] = [];
  const entries = isObj(har) && isObj(har.log) && Array.isArray(har.log.entries) ? (har.log.entries as unknown[]) : [];
  entries.forEach((e, i) => {
    const p = `/log/entries/${i}`;
    if (!isObj(e) || !isObj(e.timings) || !isObj(e.response)) return;
    const started = typeof e.startedDateTime === 'string' ? Date.parse(e.startedDateTime) : NaN;
    if (Number.isNaN(started) || new Date(started).toISOString() !== e.startedDateTime) errors.push(`${p}/startedDateTime is not an ISO 8601 UTC date`);
    const t = e.timings;
    for (const k of ['send', 'wait', 'receive']) if (typeof t[k] !== 'number' || (t[k] as number) < 0) errors.push(`${p}/timings/${k} is negative`);
    for (const k of ['blocked', 'dns', 'connect', 'ssl']) if (t[k] !== undefined && (t[k] as number) < -1) errors.push(`${p}/timings/${k} is below -1`);
    const sum = ['send', 'wait', 'receive', 'blocked', 'dns', 'connect'].reduce((s, k) => s + Math.max(0, (t[k] as number | undefined) ?? 0), 0);
    if (typeof e.time !== 'number' || Math.abs(sum - e.time) > 0.01) errors.push(`${p}/time ${String(e.time)} is not the sum of the timings (${sum})`);
    const c = e.response.content;
    if (isObj(c) && c.encoding === 'base64' && (typeof c.text !== 'string' || Buffer.from(c.text, 'base64').toString('base64') !== c.text)) {
      errors.push(`${p}/response/content/text is not base64`);
    }
  });
  return errors;
}

/** Every way the HAR breaks the har-schema JSON schema or the HAR 1.2 spec; [] when it is valid. */
export function harErrors(har: unknown): string[] {
  validateHarSchema ??= compile();
  const schemaOk = validateHarSchema(har);
  return [...(schemaOk ? [] : describeErrors(validateHarSchema.errors)), ...specErrors(har)];
}
