const { Client } = require("pg");
const url = require("fs").readFileSync("/tmp/dburl", "utf8").trim();
(async () => {
  const c = new Client({ connectionString: url }); await c.connect();
  for (const q of process.argv.slice(2)) { const r = await c.query(q); console.table(r.rows); }
  await c.end();
})();
