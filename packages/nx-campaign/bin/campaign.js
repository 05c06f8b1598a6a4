#!/usr/bin/env node
process.exitCode = require('../dist/cli/main').main(process.argv.slice(2));
