import { afterAll } from 'vitest';
import { removeFixtures } from '../packages/nx-campaign/src/testing/fixture';

// Unit tests' fixture workspaces (packages/nx-campaign/src/testing/fixture.ts) go when their file ends.
afterAll(removeFixtures);
