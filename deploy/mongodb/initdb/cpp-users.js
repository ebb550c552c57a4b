// Run once by the mongo image on the database's first start (docker-compose.yml
// mounts this folder as /docker-entrypoint-initdb.d): each service's own user,
// taken from the store URL the service is given (a compose secret written by
// scripts/make-compose-secrets), allowed to read and write its database and
// its rate limits' database only.
const fs = require("fs");

for (const service of ["plans", "scheduler", "notify", "docs", "returns"]) {
  const url = new URL(fs.readFileSync(`/run/secrets/${service}_store_url`, "utf8").trim());
  const database = decodeURIComponent(url.pathname.slice(1));
  db.getSiblingDB(database).createUser({
    user: decodeURIComponent(url.username),
    pwd: decodeURIComponent(url.password),
    roles: [{ role: "readWrite", db: database }, { role: "readWrite", db: `${database}_limits` }],
  });
  print(`made the ${service} service's user ${url.username} on ${database}`);
}
