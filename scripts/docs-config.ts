// npm run docs:config: rewrites README.md's settings tables from the configuration schema.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withSettingsTables } from '../src/config/readme.js';

const file = join(import.meta.dirname, '..', 'README.md');
const before = readFileSync(file, 'utf8');
const result = withSettingsTables(before);
if (!result.ok) {
  console.error(result.problem);
  process.exit(1);
}
if (result.text !== before) writeFileSync(file, result.text);
console.log(result.text === before ? 'README.md settings tables are up to date' : 'README.md settings tables rewritten');
