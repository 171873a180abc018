// One way to read JSON that must have a known shape, for every wire and file format: the value,
// or undefined for text that is not JSON or not of the shape (the caller says what that means).
import type { ZodMiniType } from "zod/mini";

export function parseJsonAs<T>(schema: ZodMiniType<T>, text: string): T | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const result = schema.safeParse(value);
  return result.success ? result.data : undefined;
}
