# Image for the api and worker services (docker-compose.yml picks the command).
FROM node:20-bookworm-slim

ENV NODE_ENV=production CHECKPOINT_DISABLE=1
WORKDIR /app

# postgresql-client: pg_dump/psql for tools that shell out; ca-certificates: HTTPS to Cloudinary.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates postgresql-client \
 && rm -rf /var/lib/apt/lists/*

COPY . .
# Dev dependencies included: the prisma CLI migrates, esbuild builds the services into dist/, and tsx
# runs the admin bootstrap. The services themselves run as the built JavaScript (less memory than through tsx).
RUN npm ci --include=dev --no-audit --no-fund \
 && DATABASE_URL=postgresql://generate-only@127.0.0.1:1/none node_modules/.bin/prisma generate \
 && node scripts/build.mjs \
 && mkdir -p /var/lib/mp/backups /var/lib/mp/uploads && chown -R node:node /var/lib/mp

USER node
EXPOSE 3000
CMD ["node", "--enable-source-maps", "dist/api.mjs"]
