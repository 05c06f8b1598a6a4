import { BUILTIN_WORKFLOWS } from './builtins';
import type { WorkflowType } from './types';

/** Workflow types by name: the built-ins (custom types from the workspace join them the same way). */
export function workflowTypes(_wsRoot: string): Map<string, WorkflowType> {
  return new Map(BUILTIN_WORKFLOWS.map((w) => [w.name, w]));
}
