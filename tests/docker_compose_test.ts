// docker-compose.yml as `docker compose config` sees it, without Docker: loaded by
// compose-go (scripts/compose_config), then checked for what `docker compose up` needs.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../apps/config.ts";

const root = fileURLToPath(new URL("../", import.meta.url));
const APPS = ["product_api", "kafka_consumer", "webhooks"];

const hasGo = await new Deno.Command("go", { args: ["version"], stdout: "null", stderr: "null" })
  .output().then((out) => out.success, () => false);
if (!hasGo) console.log("docker_compose_test.ts: skipped: no Go toolchain to run compose-go");

type Service = {
  image?: string;
  command?: string[] | null;
  environment?: Record<string, string | null>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test?: string[] };
};

/** The compose file's resolved project, or the loader's complaint. */
const composeConfig = async (env: Record<string, string>) => {
  const out = await new Deno.Command("go", {
    args: [
      "-C",
      `${root}scripts/compose_config`,
      "run",
      ".",
      `${root}docker-compose.yml`,
      "--json",
    ],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    success: out.success,
    stderr: new TextDecoder().decode(out.stderr),
    project: out.success
      ? JSON.parse(new TextDecoder().decode(out.stdout)) as { services: Record<string, Service> }
      : null,
  };
};

const secrets = {
  STRIPE_WEBHOOKS_SECRET: "whsec_compose_test_0123",
  WEBHOOKS_API_KEY: "compose-test-api-key",
  PRODUCT_API_TOKEN: "compose-test-api-token",
};

Deno.test({
  name: "docker-compose.yml is valid and starts the apps after healthy KurrentDB and Kafka",
  ignore: !hasGo,
  fn: async () => {
    const { success, stderr, project } = await composeConfig(secrets);
    assert.ok(success, stderr);
    const services = project!.services;
    assert.deepEqual(Object.keys(services).sort(), ["kafka", "kurrentdb", ...APPS].sort());
    for (const name of ["kurrentdb", "kafka"]) {
      assert.ok(services[name]!.healthcheck?.test?.length, `${name} has a health check`);
    }
    const tasks = JSON.parse(await Deno.readTextFile(`${root}deno.json`)).tasks as Record<
      string,
      string
    >;
    for (const app of APPS) {
      const service = services[app]!;
      assert.deepEqual(service.depends_on, {
        kurrentdb: { condition: "service_healthy", required: true },
        kafka: { condition: "service_healthy", required: true },
      }, app);
      assert.match(service.healthcheck?.test?.join(" ") ?? "", /\/healthz/, `${app} health check`);
      const env = service.environment ?? {};
      assert.match(env.EVENTSTORE_CONNECTION_STRING ?? "", /^esdb:\/\/kurrentdb:2113/, app);
      assert.equal(env.KAFKA_BROKERS, "kafka:9092", app);
      assert.equal(env.WEBHOOKS_API_KEY, secrets.WEBHOOKS_API_KEY, app);
      assert.deepEqual(service.command, ["deno", "task", app]);
      const task = tasks[app];
      assert.ok(task, `deno.json has a ${app} task`);
      assert.doesNotMatch(
        task,
        /(^|\s)(-A|--allow-all)(\s|$)/,
        `${app} task lists its permissions`,
      );
      const entry = task.split(/\s+/).at(-1)!;
      assert.equal(entry, `apps/${app}/main.ts`);
      await Deno.stat(`${root}${entry}`); // the image caches it at build
    }
  },
});

Deno.test({
  name: "docker-compose.yml gives each app settings it reads, and probes the port it listens on",
  ignore: !hasGo,
  fn: async () => {
    const { success, stderr, project } = await composeConfig(secrets);
    assert.ok(success, stderr);
    const services = project!.services;
    const configOf = (app: string) => {
      const env = Object.fromEntries(
        Object.entries(services[app]!.environment ?? {}).map(([k, v]) => [k, v ?? undefined]),
      );
      return loadConfig(env, {
        dev: false,
        required: ["STRIPE_WEBHOOKS_SECRET", "WEBHOOKS_API_KEY", "PRODUCT_API_TOKEN"],
      });
    };
    const listens = {
      product_api: configOf("product_api").productApiPort,
      kafka_consumer: configOf("kafka_consumer").consumerPort,
      webhooks: configOf("webhooks").webhooksPort,
    };
    for (const [app, port] of Object.entries(listens)) {
      assert.match(
        services[app]!.healthcheck!.test!.join(" "),
        new RegExp(`127\\.0\\.0\\.1:${port}/healthz`),
        `${app} listens on ${port}`,
      );
    }
    // The simulator in the consumer's container posts to the webhooks service, by name.
    assert.equal(
      configOf("kafka_consumer").webhooksUrl,
      `http://webhooks:${listens.webhooks}`,
    );
  },
});

Deno.test({
  name: "docker-compose.yml pins the event store image to a server line the client documents",
  ignore: !hasGo,
  fn: async () => {
    const { success, stderr, project } = await composeConfig(secrets);
    assert.ok(success, stderr);
    // @eventstore/db-client 6.2.1's CHANGELOG knows EventStoreDB up to the 24.x line; the
    // adapter needs 23.10 or later (docs/eventstoredb.md). A floating tag is no pin.
    const image = project!.services.kurrentdb!.image ?? "";
    const version = image.match(/^(?:[\w.-]+\/)*eventstore:(\d+)\.(\d+)\.(\d+)$/);
    assert.ok(version, `${image} is not an exact EventStoreDB version`);
    const [major, minor] = [Number(version[1]), Number(version[2])];
    assert.ok(major * 100 + minor >= 2310 && major <= 24, `${image} is outside 23.10 … 24.x`);
  },
});

Deno.test({
  name: "docker-compose.yml refuses to start without the secrets, naming each",
  ignore: !hasGo,
  fn: async () => {
    const { success, stderr } = await composeConfig({
      STRIPE_WEBHOOKS_SECRET: "",
      WEBHOOKS_API_KEY: "",
      PRODUCT_API_TOKEN: "",
    });
    assert.equal(success, false);
    for (const name of Object.keys(secrets)) assert.match(stderr, new RegExp(`set ${name}`));
  },
});
