# Modex API image: `docker build -t modex .`
# Two stages: the build stage compiles the TypeScript with all dependencies; the runtime
# stage holds the compiled JavaScript and production dependencies only, runs as `node`.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# mongodb-memory-server (a dependency, used only in development) must not download a mongod.
ENV MONGOMS_DISABLE_POSTINSTALL=1
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    MONGOMS_DISABLE_POSTINSTALL=1 \
    HOST=0.0.0.0 \
    PORT=3000
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
# Owned by root and read-only for the `node` user that runs the service. dist/ holds the web
# client too (npm run build copies src/web/client beside the compiled server that serves it).
COPY --from=build /app/dist ./dist
USER node
EXPOSE 3000
# The slim image has no curl; Node 20 has fetch.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"]
# SIGTERM (docker stop) drains in-flight requests, stops Agenda and closes the database within 10 s.
STOPSIGNAL SIGTERM
CMD ["node", "dist/src/server.js"]
