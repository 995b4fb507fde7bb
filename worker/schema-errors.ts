import type { ErrorObject } from "ajv";

/**
 * One ajv error as `<JSONPath>: <rule>`, e.g. `$.messages[0].role: must be one of "system", "user"`.
 * `patternRule` words a failed `pattern` for people (by default ajv's "must match pattern ...").
 * The engine's task errors go into result documents: their wording is part of the hashed output.
 */
export function describeSchemaError(error: ErrorObject, patternRule?: string): string {
  const path = jsonPath(error.instancePath);
  switch (error.keyword) {
    case "additionalProperties":
      return `${jsonPath(`${error.instancePath}/${error.params.additionalProperty}`)}: unknown field`;
    case "required":
      return `${jsonPath(`${error.instancePath}/${error.params.missingProperty}`)}: is required`;
    case "enum":
      return `${path}: must be one of ${(error.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}`;
    case "pattern":
      return `${path}: ${patternRule ?? error.message}`;
    default:
      return `${path}: ${error.message}`;
  }
}

/** ajv errors as one indented line each (configuration files). */
export function describeSchemaErrors(errors: ErrorObject[]): string {
  return errors.map((error) => `  ${describeSchemaError(error)}`).join("\n");
}

/** "/generation_config/top_p" -> "$.generation_config.top_p", "/messages/0/role" -> "$.messages[0].role". */
export function jsonPath(pointer: string): string {
  const segments = pointer
    .split("/")
    .slice(1)
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
  return segments.reduce(
    (path, segment) =>
      /^\d+$/.test(segment)
        ? `${path}[${segment}]`
        : /^[A-Za-z_][A-Za-z0-9_]*$/.test(segment)
          ? `${path}.${segment}`
          : `${path}[${JSON.stringify(segment)}]`,
    "$",
  );
}
