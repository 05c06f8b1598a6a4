import { join } from 'node:path';

/** A generator's `files/` templates: kept in src/ (the package ships them), run from dist/. */
export function templatesOf(generator: string): string {
  return join(__dirname, '..', '..', 'src', 'generators', generator, 'files');
}
