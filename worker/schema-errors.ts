import type { ErrorObject } from "ajv";

/** ajv errors as one indented line each, naming the JSON pointer and the rule (configuration files). */
export function describeSchemaErrors(errors: ErrorObject[]): string {
  return errors
    .map((e) => {
      const where = e.instancePath || "/";
      if (e.keyword === "additionalProperties") return `  ${where}: unknown field "${e.params.additionalProperty}"`;
      if (e.keyword === "required") return `  ${where}: missing required field "${e.params.missingProperty}"`;
      if (e.keyword === "enum") return `  ${where}: must be one of ${JSON.stringify(e.params.allowedValues)}`;
      return `  ${where}: ${e.message}`;
    })
    .join("\n");
}
