// A real Apache Kafka broker for tests and CI, without Docker: Maven fetches the broker's
// jars once into a cache outside the repository, then each start formats KRaft storage in
// a temporary folder and runs one combined broker+controller on 127.0.0.1.
//
//   deno task kafka start [--env-file FILE] [--log FILE]
//     prints KAFKA_BROKERS=127.0.0.1:PORT once the broker answers, writes the same lines
//     (and KAFKA_BROKER_PID, KAFKA_BROKER_LOG) to FILE, and runs until SIGTERM/SIGINT;
//   deno task kafka resolve
//     only fetches the jars (so CI can time that step apart).
import { Kafka, logLevel } from "kafkajs";
import { freePort } from "./process.ts";

export const KAFKA_VERSION = "4.4.0";
// Kafka 4 logs through slf4j 1.7, so the log4j2 backend is log4j-slf4j-impl (not slf4j2-impl).
const LOG4J_VERSION = "2.26.1";

export type BrokerOptions = {
  /** Where the jars are kept (default ~/.cache/nudges/kafka or $NUDGES_KAFKA_CACHE). */
  cacheDir?: string;
  /** Where the broker's own log goes (default: its temporary folder, removed on stop). */
  logFile?: string;
  /** Give up waiting for the broker after this long (default 90 s). */
  startTimeoutMs?: number;
};

export type KafkaBroker = {
  /** "127.0.0.1:PORT", the value for KAFKA_BROKERS. */
  brokers: string;
  pid: number;
  logFile: string;
  /** Settles when the broker process has ended, for whatever reason. */
  exited: Promise<Deno.CommandStatus>;
  /** Stops the broker (SIGTERM, then SIGKILL after 20 s) and removes its temporary folder. */
  stop(): Promise<void>;
};

const defaultCacheDir = () =>
  Deno.env.get("NUDGES_KAFKA_CACHE") ??
    `${Deno.env.get("XDG_CACHE_HOME") ?? `${Deno.env.get("HOME")}/.cache`}/nudges/kafka`;

const pom = () => {
  const dep = (group: string, artifact: string, version: string) =>
    `<dependency><groupId>${group}</groupId><artifactId>${artifact}</artifactId>` +
    `<version>${version}</version></dependency>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>nudges.local</groupId>
  <artifactId>kafka-broker-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    ${dep("org.apache.kafka", "kafka_2.13", KAFKA_VERSION)}
    ${dep("org.apache.logging.log4j", "log4j-core", LOG4J_VERSION)}
    ${dep("org.apache.logging.log4j", "log4j-slf4j-impl", LOG4J_VERSION)}
  </dependencies>
</project>
`;
};

const exists = async (path: string) => {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
};

const run = async (command: string, args: string[], what: string, cwd?: string) => {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(command, { args, cwd, stdout: "piped", stderr: "piped" })
      .output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Error(`${what} needs \`${command}\` on PATH (Java 17+ and Maven)`);
    }
    throw error;
  }
  if (!output.success) {
    const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
    throw new Error(`${what} failed (${command} exit ${output.code}):\n${text.slice(-4000)}`);
  }
  return new TextDecoder().decode(output.stdout);
};

/** The folder holding the broker's jars, fetched with Maven on first use. */
export const resolveJars = async (cacheDir = defaultCacheDir()): Promise<string> => {
  const home = `${cacheDir}/${KAFKA_VERSION}`;
  const libs = `${home}/libs`;
  if (await exists(`${libs}/.complete`)) return libs;
  await Deno.mkdir(home, { recursive: true });
  await Deno.writeTextFile(`${home}/pom.xml`, pom());
  // Copy into a private folder and rename it into place, so two first runs at once
  // cannot leave a half-filled libs folder behind.
  const staging = await Deno.makeTempDir({ dir: home, prefix: "libs-" });
  try {
    await run(
      "mvn",
      [
        "-q",
        "-B",
        "dependency:copy-dependencies",
        "-DincludeScope=runtime",
        `-DoutputDirectory=${staging}`,
      ],
      "resolving Kafka's jars with Maven",
      home,
    );
    await Deno.writeTextFile(`${staging}/.complete`, `kafka_2.13 ${KAFKA_VERSION}\n`);
    try {
      await Deno.rename(staging, libs);
    } catch (error) {
      if (await exists(`${libs}/.complete`)) return libs; // another run got there first
      if (!(error instanceof Deno.errors.AlreadyExists) && !(await exists(libs))) throw error;
      // Left half-filled by an interrupted older run.
      await Deno.remove(libs, { recursive: true });
      await Deno.rename(staging, libs);
    }
  } finally {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
  }
  return libs;
};

const serverProperties = (dir: string, port: number, controllerPort: number) =>
  `process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${controllerPort}
listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}
advertised.listeners=PLAINTEXT://127.0.0.1:${port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=${dir}/data
num.partitions=3
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=5
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=5
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=2
num.recovery.threads.per.data.dir=1
background.threads=2
`;

const LOG4J2 = `status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = out
logger.state.name = state.change.logger
logger.state.level = WARN
`;

const JVM = [
  "-Xmx512m",
  "-Xms128m",
  "-XX:+UseSerialGC",
  "-XX:+ExitOnOutOfMemoryError",
  "-Djava.awt.headless=true",
];

const java = (dir: string, libs: string, args: string[]) => [
  ...JVM,
  `-Dlog4j2.configurationFile=${dir}/log4j2.properties`,
  "-cp",
  `${libs}/*`,
  ...args,
];

/** A KRaft cluster id: 16 random bytes, base64url without padding. */
const clusterId = () =>
  btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))))
    .replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");

const tail = async (file: string, lines = 40) => {
  try {
    return (await Deno.readTextFile(file)).trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
};

const answers = async (brokers: string) => {
  const admin = new Kafka({
    clientId: "nudges-broker-probe",
    brokers: [brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    retry: { retries: 0 },
  }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length > 0;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => {});
  }
};

/** Starts a broker and resolves once it answers admin requests. */
export const start = async (options: BrokerOptions = {}): Promise<KafkaBroker> => {
  const libs = await resolveJars(options.cacheDir);
  const dir = await Deno.makeTempDir({ prefix: "nudges-kafka-" });
  const logFile = options.logFile ?? `${dir}/broker.log`;
  const port = freePort();
  let controllerPort = freePort();
  while (controllerPort === port) controllerPort = freePort();
  await Deno.writeTextFile(`${dir}/server.properties`, serverProperties(dir, port, controllerPort));
  await Deno.writeTextFile(`${dir}/log4j2.properties`, LOG4J2);
  await run(
    "java",
    java(dir, libs, [
      "kafka.tools.StorageTool",
      "format",
      "-t",
      clusterId(),
      "-c",
      `${dir}/server.properties`,
    ]),
    "formatting KRaft storage",
  );

  // `exec` through sh so the broker writes its output straight into the log file and
  // keeps running (and logging) even if this process is killed without warning.
  const child = new Deno.Command("sh", {
    args: [
      "-c",
      'exec "$@" >>"$NUDGES_KAFKA_LOG" 2>&1',
      "sh",
      "java",
      ...java(dir, libs, ["kafka.Kafka", `${dir}/server.properties`]),
    ],
    env: { NUDGES_KAFKA_LOG: logFile },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  let exited = false;
  const status = child.status.finally(() => exited = true);

  const brokers = `127.0.0.1:${port}`;
  let stopped: Promise<void> | undefined;
  const stop = () =>
    stopped ??= (async () => {
      if (!exited) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => !exited && child.kill("SIGKILL"), 20_000);
        await status;
        clearTimeout(timer);
      }
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    })();

  const deadline = Date.now() + (options.startTimeoutMs ?? 90_000);
  while (!(await answers(brokers))) {
    if (exited || Date.now() > deadline) {
      const why = exited ? `exited with ${(await status).code}` : "did not answer in time";
      const log = await tail(logFile);
      await stop();
      throw new Error(`Kafka broker ${why}; its log ends:\n${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return { brokers, pid: child.pid, logFile, exited: status, stop };
};

const flag = (args: string[], name: string) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};

const main = async (args: string[]) => {
  const [command] = args;
  if (command === "resolve") {
    console.log(`Kafka ${KAFKA_VERSION} jars in ${await resolveJars()}`);
    return;
  }
  if (command !== "start") {
    console.error("usage: kafka_broker.ts start [--env-file FILE] [--log FILE] | resolve");
    Deno.exit(2);
  }
  const envFile = flag(args, "--env-file");
  const broker = await start({ logFile: flag(args, "--log") });
  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    await broker.stop();
    if (envFile) await Deno.remove(envFile).catch(() => {});
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGTERM", shutdown);
  Deno.addSignalListener("SIGINT", shutdown);
  broker.exited.then(async ({ code }) => {
    if (stopping) return;
    console.error(`Kafka broker exited on its own (code ${code}); its log ends:`);
    console.error(await tail(broker.logFile));
    if (envFile) await Deno.remove(envFile).catch(() => {});
    Deno.exit(1);
  });
  const lines = `KAFKA_BROKERS=${broker.brokers}\nKAFKA_BROKER_PID=${broker.pid}\n` +
    `KAFKA_BROKER_LOG=${broker.logFile}\n`;
  if (envFile) {
    // Written whole and renamed, so a reader never sees half a file.
    await Deno.writeTextFile(`${envFile}.tmp`, lines);
    await Deno.rename(`${envFile}.tmp`, envFile);
  }
  console.log(`KAFKA_BROKERS=${broker.brokers}`);
};

if (import.meta.main) await main(Deno.args);
