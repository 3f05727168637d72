/**
 * Test helper: a field error as upstream prints it, using the Go rendering
 * (`valueText`) when a kind supplied one.
 */
import { type FieldError, fieldErrorBody } from '../../api/errors.js';

export function upstreamMessage(e: FieldError): string {
  const text = (e as FieldError & { valueText?: string }).valueText;
  if (text === undefined) return `${e.field}: ${fieldErrorBody(e)}`;
  const detail = e.detail ? `: ${e.detail}` : '';
  if (e.type === 'FieldValueNotSupported') {
    const supported = (e.supported ?? []).map((s) => `"${s}"`).join(', ');
    return `${e.field}: Unsupported value: ${text}: supported values: ${supported}`;
  }
  return `${e.field}: Invalid value: ${text}${detail}`;
}

export function messages(errs: FieldError[]): string[] {
  return errs.map(upstreamMessage);
}
