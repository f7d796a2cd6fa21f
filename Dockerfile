# One image for the three apps (product_api, kafka_consumer, webhooks); docker-compose.yml
# picks the app by its deno task, which carries the app's permissions.
FROM denoland/deno:2.9.6

WORKDIR /app
# Where the apps' embedded files go (DATA_DIR); the apps run as the unprivileged deno user.
RUN mkdir -p /data && chown deno:deno /data
USER deno

# Dependencies first, in their own layer: it is rebuilt only when deno.json or the lock change.
COPY --chown=deno:deno deno.json deno.lock ./
RUN deno install --frozen

COPY --chown=deno:deno . .
# Everything the apps import is fetched at build, so nothing is downloaded at start.
RUN deno cache --frozen apps/product_api/main.ts apps/kafka_consumer/main.ts apps/webhooks/main.ts

ENV DATA_DIR=/data
VOLUME ["/data"]
# docker-compose.yml names the app; this is only the default.
CMD ["deno", "task", "webhooks"]
