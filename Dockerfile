# syntax=docker/dockerfile:1
# scimd as a container: a static binary (the SQLite driver is pure Go, so CGO_ENABLED=0)
# on distroless's static image, running as its non-root user.
#
#   docker build --build-arg VERSION="$(git describe --tags --always --dirty)" -t scimd .
#   docker run -d --name scimd -p 8080:8080 -v scimd-data:/var/lib/scimd \
#     -e SCIMD_BASE_URL=https://scim.example.com scimd
#
# The first start's credential is written to /var/lib/scimd/scimd-first-credential.txt
# (standard output is not a terminal; see docs/deploy.md): read it with
#   docker cp scimd:/var/lib/scimd/scimd-first-credential.txt - | tar -xO
# or make another: docker exec scimd scimd credential create --tenant default

# The Go version of go.mod's go directive (cmd/scimd's release test checks they agree).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The build context has no .git, so there is no VCS information for `scimd version` to
# read: VERSION names the build instead.
ARG VERSION=""
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false \
      -ldflags="-s -w -X github.com/scimd/scimd/internal/cli.linkedVersion=${VERSION}" \
      -o /out/scimd ./cmd/scimd \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/scimd /usr/local/bin/scimd
# The database's directory, owned by the user scimd runs as, so that a new volume mounted
# here is writable by it.
COPY --from=build --chown=65532:65532 /out/data /var/lib/scimd
USER 65532:65532
# The working directory is the data directory: with a postgres:// database the first
# credential's file is written to the working directory.
WORKDIR /var/lib/scimd
ENV SCIMD_ADDR=:8080 \
    SCIMD_DB=/var/lib/scimd/scimd.db
VOLUME ["/var/lib/scimd"]
EXPOSE 8080
# The image has no shell or HTTP client: the binary probes its own /healthz (on
# SCIMD_ADDR). Kubernetes can probe /healthz and /readyz over HTTP directly.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/scimd", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/scimd"]
CMD ["serve"]
