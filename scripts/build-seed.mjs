// Builds dist/pglite-seed.tgz: an embedded database that is already
// initialised and migrated. A first `switchyard up` unpacks it instead of
// running initdb in WASM, which takes ~3 s of the 5 s a fresh start may take
// (DEVELOPERS.md's start-up budget). Later migrations still run at start.
import { writeFileSync } from 'node:fs';
import { openStore } from '../dist/store/open.js';
import { migrate } from '../dist/store/migrate.js';
import { SEED_PATH } from '../dist/store/seed.js';

const started = Date.now();
const db = await openStore({ kind: 'pglite' });
await migrate(db);
const blob = await db.dumpEmbedded('gzip');
await db.close();
writeFileSync(SEED_PATH, Buffer.from(await blob.arrayBuffer()));
process.stdout.write(`embedded database seed: ${SEED_PATH} (${Math.round(blob.size / 1024)} KiB, ${Date.now() - started} ms)\n`);
