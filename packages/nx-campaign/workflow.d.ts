export * from './dist/workflows/api';
