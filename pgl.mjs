import { PGlite } from '@electric-sql/pglite'
import { vector } from '@electric-sql/pglite-pgvector'
import { createPgConfig } from '@electric-sql/pglite/node-postgres'
import pg from 'pg'
let t=Date.now()
const db = new PGlite(process.argv[2] ?? 'memory://', { extensions: { vector } })
await db.waitReady
console.log('ready', Date.now()-t); t=Date.now()
const pool = new pg.Pool(createPgConfig(db))
await pool.query('CREATE EXTENSION IF NOT EXISTS vector')
console.log('ext', Date.now()-t); t=Date.now()
const r = await pool.query('select version(), $1::int + 1 as x, $2::jsonb as j', [41, {a:1}])
console.log(r.rows)
await pool.query('create table if not exists t (id serial primary key, v vector(3), ts timestamptz default now())')
await pool.query("insert into t(v) values ($1)", ['[1,2,3]'])
console.log((await pool.query('select v <=> $1 as d, ts from t', ['[1,2,4]'])).rows)
// concurrent
const c1 = await pool.connect();
console.log('pool connect ok')
await c1.query('begin'); await c1.query('insert into t(v) values ($1)', ['[1,1,1]'])
const p2 = pool.query('select count(*) from t');
setTimeout(async()=>{ await c1.query('commit'); c1.release(); }, 100)
console.log((await p2).rows)
t=Date.now()
for (let i=0;i<1000;i++) await pool.query('select $1::int', [i])
console.log('1000 q', Date.now()-t)
const l = await pool.connect(); 
try { await l.query('LISTEN foo'); l.on('notification', m=>console.log('notif', m.channel, m.payload)); await pool.query("select pg_notify('foo','hi')"); } catch(e) { console.log('listen err', e.message) }
await new Promise(r=>setTimeout(r,200))
l.release()
await pool.end(); await db.close()
