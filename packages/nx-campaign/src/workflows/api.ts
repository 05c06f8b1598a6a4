/**
 * What a workspace's own workflow type imports (`require('nx-campaign/workflow')`):
 * `defineWorkflow`, zod as `z`, and the types.
 */
export { z } from 'zod';
export { defineWorkflow } from './types';
export type { WorkflowContext, WorkflowStage, WorkflowType } from './types';
export type { Observation } from './obsdb';
