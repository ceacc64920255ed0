// Verifies a captured webhook request with the npm reference package
// (standardwebhooks), independently of our Go code.
// usage: VERIFY_SECRET=whsec_... node verify.js capture.json
// capture.json: {"body": "<raw body>", "headers": {"webhook-id": ..., ...}}
const fs = require("fs");
const { Webhook } = require("standardwebhooks");

const capture = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
try {
  const payload = new Webhook(process.env.VERIFY_SECRET).verify(capture.body, capture.headers);
  console.log("verified " + payload.type);
} catch (e) {
  console.error("rejected: " + e.message);
  process.exit(1);
}
