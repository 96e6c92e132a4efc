// The policy's public surface. Callers load a document with parsePolicy (refusing it, with every
// problem listed, if anything is wrong) and ask evaluate for a decision per request.

export * from './types.js';
export { parsePolicy, RESERVED_RULE_NAMES, type ParseResult } from './document.js';
export { evaluate } from './evaluate.js';
export { previewNames, type NamesDecision } from './names.js';
export { defaultPolicyYaml, type DefaultPolicyOptions } from './default-policy.js';
export { parseDuration, formatDuration, type DurationResult } from './duration.js';
export { POLICY_SCHEMA, type PolicyDocument, type RuleDocument } from './schema.js';
export {
  compileTemplate,
  renderTemplate,
  spiffeIdProblem,
  isSpiffeSegment,
  SPIFFE_SEGMENT,
  type CompileResult,
  type RenderResult,
  type TemplateVariables,
  type ValueRule,
} from './template.js';
