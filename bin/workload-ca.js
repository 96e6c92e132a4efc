#!/usr/bin/env node
// Runs the compiled CLI (`npm run build`, done by `npm ci` and `npm start`).
import '../dist/cli.js';
