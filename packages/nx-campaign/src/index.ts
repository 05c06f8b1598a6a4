export { createNodes } from './plugins/nodes';
