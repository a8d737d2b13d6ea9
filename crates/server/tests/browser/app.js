// Drives the published JavaScript NATS client (nats.ws) against our server from a real
// browser. Each step reports to the test's static server (POST /result); the test
// decides pass/fail and restarts the server when asked (GET /signal/<name> answers 200
// once the test has done it).
import { connect, Events, headers, StringCodec } from "./nats.js";

const params = new URLSearchParams(location.search);
const url = params.get("ws");
const sc = StringCodec();

function log(s) {
  document.getElementById("log").textContent += s + "\n";
}

async function report(step, ok, detail) {
  log(`${step} ${ok} ${detail ?? ""}`);
  await fetch("/result", {
    method: "POST",
    body: JSON.stringify({ step, ok: !!ok, detail: String(detail ?? "") }),
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitSignal(name) {
  for (;;) {
    const r = await fetch("/signal/" + name);
    if (r.status === 200) return;
    await sleep(50);
  }
}

// Interest travels over the route asynchronously: retry while nobody answers yet.
async function requestRetry(nc, subject, data, opts) {
  let last;
  for (let i = 0; i < 100; i++) {
    try {
      return await nc.request(subject, data, { timeout: 2000, ...opts });
    } catch (e) {
      last = e;
      await sleep(100);
    }
  }
  throw last;
}

async function main() {
  // Authentication failure, then success.
  try {
    const bad = await connect({ servers: url, user: "web", pass: "wrong", reconnect: false });
    await bad.close();
    await report("auth-failure", false, "connected with a wrong password");
  } catch (e) {
    await report("auth-failure", e.code === "AUTHORIZATION_VIOLATION", `${e.code} ${e.message}`);
  }
  const nc = await connect({
    servers: url,
    user: "web",
    pass: "secret",
    name: "chromium",
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    waitOnFirstConnect: true,
  });
  await report("connect", true, nc.getServer());

  // Publish and subscribe on the same server.
  const sub = nc.subscribe("browser.echo", { max: 1 });
  nc.publish("browser.echo", sc.encode("hello"));
  for await (const m of sub) {
    await report("pubsub", sc.decode(m.data) === "hello", sc.decode(m.data));
  }

  // Request/reply with a TCP responder on the other server of the cluster.
  const r = await requestRetry(nc, "svc.echo", sc.encode("ping"));
  await report("request", sc.decode(r.data) === "pong:ping", sc.decode(r.data));

  // To a TCP subscriber on the other server.
  nc.publish("browser.out", sc.encode("from-browser"));

  // Headers both ways.
  const h = headers();
  h.set("X-Test", "42");
  const r2 = await requestRetry(nc, "svc.echo", sc.encode("h"), { headers: h });
  await report("headers", r2.headers && r2.headers.get("X-Test") === "42",
    r2.headers ? r2.headers.get("X-Test") : "no headers");

  // A large payload, to ourselves and across the route.
  const big = new Uint8Array(512 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = i % 251;
  const bsub = nc.subscribe("browser.big", { max: 1 });
  nc.publish("browser.big", big);
  nc.publish("browser.big.out", big);
  for await (const m of bsub) {
    let same = m.data.length === big.length;
    for (let i = 0; same && i < big.length; i++) same = m.data[i] === big[i];
    await report("large", same, m.data.length);
  }
  await nc.flush();

  // Reconnect after the server restarts.
  let reconnected;
  const back = new Promise((resolve) => (reconnected = resolve));
  (async () => {
    for await (const s of nc.status()) {
      if (s.type === Events.Reconnect) reconnected();
    }
  })();
  await report("ready-for-restart", true, "");
  await waitSignal("restarted");
  await back;
  const r3 = await requestRetry(nc, "svc.echo", sc.encode("again"));
  nc.publish("browser.after", sc.encode("back"));
  await nc.flush();
  await report("reconnect", sc.decode(r3.data) === "pong:again", sc.decode(r3.data));
  await nc.close();
  await report("done", true, "");
}

main().catch((e) => report("fatal", false, e && (e.stack || e.message || e)));
